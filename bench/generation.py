"""The emulator's event making: events per second, and what a 50,000-event request costs.

    .venv/bin/python -m bench.generation [--events 50000] [--rounds 5]

Three figures, best and median of `--rounds` runs on one core: `generate_batch` (every field
drawn), `EventPool.batch` (pooled shapes, fresh ids and times), and a whole request body as
the emulator makes it (pool batch + JSON encoding, collector paused). The machine's cores
are shared: figures move with its load.
"""

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable

import orjson

from funnel.publisher import EventPool, generate_batch


def _timed(action: Callable[[], object], rounds: int) -> list[float]:
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return durations


def _report(label: str, events: int, durations: list[float]) -> None:
    best, median = min(durations), statistics.median(durations)
    print(
        f"{label:<22} best {best * 1000:7.1f} ms ({events / best:>10,.0f} events/s)   "
        f"median {median * 1000:7.1f} ms ({events / median:>10,.0f} events/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    pool = EventPool(rng)

    def request_body() -> bytes:
        gc.disable()
        try:
            return orjson.dumps(pool.batch(args.events))
        finally:
            gc.enable()

    print(f"{args.events:,} events per run ({len(request_body()) / 1e6:.1f} MB as JSON)")
    _report("generate_batch", args.events, _timed(lambda: generate_batch(rng, args.events), 2))
    _report("EventPool.batch", args.events, _timed(lambda: pool.batch(args.events), args.rounds))
    _report("request body", args.events, _timed(request_body, args.rounds))


if __name__ == "__main__":
    main()
