#!/usr/bin/env python3
"""How one measured window of M/M/c spreads: an independent check of the sweep's single-run
ranges (`mean_wait_ms_run95`) and of how unusual a measured minute is.

Simulates FCFS M/M/c from an empty pool, RUNS times: arrivals in the warm-up are served but not
counted, the mean queue wait is taken over the arrivals of the window. Prints the spread of
those means, and for each value given on the command line the share of runs whose mean reached
it. No third-party packages; about 30 s for the defaults.

    python3 bench/mmc_window.py --workers 5 3370      # the default seed's replayed minute, ms
    python3 bench/mmc_window.py --workers 6 469

Defaults are the sweep issue's point: 9/s, 500 ms exponential service, a 12 s warm-up (the
sweep's, a fifth of the window), a 60 s window.
"""
import argparse
import heapq
import random


def window_mean_wait_s(rng, lam, mu, c, warmup_s, window_s):
    free = [0.0] * c
    t, total, counted = 0.0, 0.0, 0
    end = warmup_s + window_s
    while True:
        t += rng.expovariate(lam)
        if t > end:
            break
        soonest = heapq.heappop(free)
        start = max(t, soonest)
        heapq.heappush(free, start + rng.expovariate(mu))
        if t >= warmup_s:
            total += start - t
            counted += 1
    return total / counted if counted else 0.0


def quantile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    i = int(pos)
    j = min(i + 1, len(sorted_values) - 1)
    return sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (pos - i)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=5)
    p.add_argument("--rate", type=float, default=9.0, help="arrivals per second")
    p.add_argument("--service-ms", type=float, default=500.0)
    p.add_argument("--warmup-s", type=float, default=12.0)
    p.add_argument("--window-s", type=float, default=60.0)
    p.add_argument("--runs", type=int, default=20000)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("values_ms", type=float, nargs="*", help="measured means to place")
    a = p.parse_args()
    rng = random.Random(a.seed)
    mu = 1000.0 / a.service_ms
    means = sorted(
        window_mean_wait_s(rng, a.rate, mu, a.workers, a.warmup_s, a.window_s) * 1e3
        for _ in range(a.runs)
    )
    print(
        f"M/M/{a.workers} at {a.rate}/s, {a.service_ms} ms: mean wait of a {a.window_s} s window "
        f"after {a.warmup_s} s, {a.runs} runs"
    )
    print(f"  average of the runs' means {sum(means) / len(means):.1f} ms")
    for q in (0.025, 0.5, 0.975, 0.99, 0.999):
        print(f"  {q * 100:g}% point {quantile(means, q):.1f} ms")
    for v in a.values_ms:
        share = sum(m >= v for m in means) / len(means)
        print(f"  runs whose mean reached {v:g} ms: {share * 100:.2f}%")


if __name__ == "__main__":
    main()
