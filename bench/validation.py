"""`validate_events` on publisher-sized arrays: events validated per second on one core.

    .venv/bin/python -m bench.validation [--events 50000] [--rounds 5] [--corrupted 1]

The array is publisher-like (`EventPool`), with `--corrupted` corrupted events scattered in
it. Figures: the best and the median of `--rounds` runs of the array's JSON parsed by orjson
and then validated, and of the same JSON split into its elements' texts (`split_array`) and
validated from those, as gateway and collector do. The machine's cores are shared: figures
move with its load.
"""

import argparse
import random

import orjson

from bench.timing import report, timed
from funnel.events import Validation, validate_events
from funnel.events.elements import split_array
from funnel.publisher import EventPool, corrupt


def _array(events: int, corrupted: int, seed: int) -> bytes:
    rng = random.Random(seed)
    batch = EventPool(rng).batch(events)
    for index in rng.sample(range(events), corrupted):
        batch[index] = corrupt(batch[index], rng)
    return orjson.dumps(batch)


def _parsed(body: bytes) -> Validation:
    return validate_events(orjson.loads(body))


def _split(body: bytes) -> Validation:
    texts = split_array(body)
    assert texts is not None
    return validate_events(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corrupted", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    body = _array(args.events, args.corrupted, args.seed)
    print(f"{args.events:,} events ({len(body) / 1e6:.1f} MB as JSON), {args.corrupted} corrupted")
    for validate in (_parsed, _split):
        validation = validate(body)
        assert len(validation.rejected) == args.corrupted, validation.rejected
    report("orjson.loads + validate_events", args.events, timed(lambda: _parsed(body), args.rounds))
    report("split_array + validate_events", args.events, timed(lambda: _split(body), args.rounds))


if __name__ == "__main__":
    main()
