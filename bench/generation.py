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

import orjson

from bench.timing import report, timed
from funnel.publisher import EventPool, generate_batch


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
    report(
        "generate_batch", args.events, timed(lambda: generate_batch(rng, args.events), 2), width=22
    )
    report(
        "EventPool.batch",
        args.events,
        timed(lambda: pool.batch(args.events), args.rounds),
        width=22,
    )
    report("request body", args.events, timed(request_body, args.rounds), width=22)


if __name__ == "__main__":
    main()
