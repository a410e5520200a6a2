"""The emulator's event making: events per second, and what a 50,000-event request costs.

    .venv/bin/python -m bench.generation [--events 50000] [--rounds 5]

Two figures, best and median of `--rounds` runs on one core: `generate_batch` (every field
of every event drawn as the publisher draws it) and a whole request body as the emulator
makes it (`draw_request`, one corrupted event appended, JSON encoding, collector paused).
The machine's cores are shared: figures move with its load.
"""

import argparse
import gc
import random

import orjson

from bench.timing import report, timed
from funnel.publisher import draw_request, generate_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)

    def request_body() -> bytes:
        gc.disable()
        try:
            return orjson.dumps(draw_request(rng, args.events, corrupt_ratio=1.0).events)
        finally:
            gc.enable()

    print(f"{args.events:,} events per run ({len(request_body()) / 1e6:.1f} MB as JSON)")
    report(
        "generate_batch",
        args.events,
        timed(lambda: generate_batch(rng, args.events), args.rounds),
        width=22,
    )
    report("request body", args.events, timed(request_body, args.rounds), width=22)


if __name__ == "__main__":
    main()
