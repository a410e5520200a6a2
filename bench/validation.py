"""`validate_events` on publisher-sized arrays: events validated per second on one core.

    .venv/bin/python -m bench.validation [--events 50000] [--rounds 5] [--corrupted 1]

The array is the emulator's (`generate_batch`), passed through JSON so it is exactly what a
gateway parses, with `--corrupted` invalid events (`invalidate`) scattered in it. Figures: the
best and the median of `--rounds` runs, and the same with every valid event's model built in
the pass (`models=True`, what a collector reads). The machine's cores are shared: figures move
with its load.
"""

import argparse
import random

import orjson

from bench.timing import report, timed
from funnel.events import validate_events
from funnel.publisher import generate_batch, invalidate


def _array(events: int, corrupted: int, seed: int) -> list[object]:
    rng = random.Random(seed)
    batch = generate_batch(rng, events)
    for index in rng.sample(range(events), corrupted):
        batch[index] = invalidate(batch[index], rng)
    parsed = orjson.loads(orjson.dumps(batch))
    assert isinstance(parsed, list)
    return parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corrupted", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    items = _array(args.events, args.corrupted, args.seed)
    size_mb = len(orjson.dumps(items)) / 1e6
    print(f"{args.events:,} events ({size_mb:.1f} MB as JSON), {args.corrupted} corrupted")
    validation = validate_events(items)
    assert len(validation.rejected) == args.corrupted, validation.rejected

    report("validate_events", args.events, timed(lambda: validate_events(items), args.rounds))

    report(
        "validate_events(models=True)",
        args.events,
        timed(lambda: validate_events(items, models=True), args.rounds),
    )


if __name__ == "__main__":
    main()
