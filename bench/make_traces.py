#!/usr/bin/env python3
"""Writes the bundled traces in assets/traces/ (deterministic: run it again to get the same files).

article.csv     the article's stream: 10 events, one a second, 5 s of work each.
bursty-api.csv  a synthetic API's requests over 120 s: a quiet Poisson background at 6/s with
                bursts of 40/s lasting 2-6 s (a two-state Markov-modulated Poisson process),
                lognormal service times with a median of 80 ms, and the request path as payload.
                Made up, not recorded: it has the shape of a real service's traffic, not its data.
"""
import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assets" / "traces"


def article():
    rows = ["arrival_s,service_s,id"]
    rows += [f"{i},5,{i}" for i in range(1, 11)]
    return "\n".join(rows) + "\n"


def bursty_api(seed=7, length_s=120.0):
    rng = random.Random(seed)
    paths = ["/orders", "/orders/{n}", "/search?q={n}", "/users/{n}", "/health"]
    t, bursting, switch_at = 0.0, False, rng.expovariate(1 / 15)
    rows = ["arrival_s,service_ms,payload"]
    while True:
        rate = 40.0 if bursting else 6.0
        t += rng.expovariate(rate)
        if t >= switch_at:
            bursting = not bursting
            switch_at = t + (rng.uniform(2, 6) if bursting else rng.expovariate(1 / 15))
        if t >= length_s:
            break
        service_ms = math.exp(rng.gauss(math.log(80), 0.6))
        path = rng.choice(paths).format(n=rng.randrange(1000))
        rows.append(f"{t:.4f},{service_ms:.2f},GET {path}")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "article.csv").write_text(article())
    (OUT / "bursty-api.csv").write_text(bursty_api())
    for f in sorted(OUT.glob("*.csv")):
        print(f, sum(1 for _ in f.open()) - 1, "rows")
