#!/usr/bin/env python3
"""The article's pipeline, for a same-machine baseline: an asyncio source puts events into a
multiprocessing Manager queue, five worker processes take them (no work), and we measure
events/s, put-to-get latency, and how fast a source that sleeps once per event can go.

Prints one JSON object: {"events_per_s", "latency_p50_us", "latency_p99_us", "sleeping_source_max_per_s"}.
"""
import asyncio
import concurrent.futures
import json
import multiprocessing as mp
import sys
import time

WORKER_PROCESSES = 5


def worker(queue, results):
    """The article's worker loop, with no work: report put-to-get latency."""
    lat = []
    while True:
        event = queue.get()
        if event is None:
            results.put(lat)
            return
        lat.append(time.monotonic() - event[1])


async def source_to_queue(queue, n, delay):
    for i in range(n):
        if delay is not None:
            await asyncio.sleep(delay)
        queue.put((i, time.monotonic()))


async def run(n, delay):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(max_workers=WORKER_PROCESSES) as pool, mp.Manager() as manager:
        q = manager.Queue()
        results = manager.Queue()
        futures = [loop.run_in_executor(pool, worker, q, results) for _ in range(WORKER_PROCESSES)]
        await asyncio.sleep(0.5)  # let the workers start
        start = time.monotonic()
        await source_to_queue(q, n, delay)
        for _ in range(WORKER_PROCESSES):
            q.put(None)
        await asyncio.gather(*futures)
        elapsed = time.monotonic() - start
        lat = []
        for _ in range(WORKER_PROCESSES):
            lat.extend(results.get())
        lat.sort()
        return n / elapsed, lat


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rate, _ = asyncio.run(run(n, None))
    # Unloaded latency: a paced source (1 ms apart) so the queue stays empty.
    _, lat = asyncio.run(run(2000, 0.001))
    # The article's source sleeps once per event; even asking for no delay it is capped.
    sleeping_rate, _ = asyncio.run(run(3000, 0.0001))
    print(json.dumps({
        "events_per_s": rate,
        "latency_p50_us": lat[len(lat) // 2] * 1e6,
        "latency_p99_us": lat[int(len(lat) * 0.99)] * 1e6,
        "sleeping_source_max_per_s": sleeping_rate,
    }))


if __name__ == "__main__":
    main()
