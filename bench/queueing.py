"""How fast storage must be for the publisher's pattern to meet a lag target: a model.

    .venv/bin/python -m bench.queueing [--seconds 120] [--runs 5] [--overhead 0.3]
                                       [--capacities 25000,30000,35000,40000,50000]

Every second the publisher sends N events, N uniform in 1,000..50,000 (~25,500 a second on
average). The model stores them first come, first served, at a steady `capacity` events a
second: a fluid server, the best case for a pipeline with that throughput. An event's lag is
the time from its second until it is stored, plus `--overhead` (the webhook answer and the
commit, which the model does not see). It prints the lag p99 over all events, per capacity,
for `--runs` seeded runs. Compare the capacities with `bench.e2e`'s "committed/s until
drained" under `--pattern steady` at a rate it cannot hold: the lag target needs the
capacity at which this model's p99 meets it, at least.
"""

import argparse
import random


def lag_p99(capacity: float, seconds: int, seed: int, overhead: float) -> float:
    """The 99th percentile of the lag, weighted by events, in one seeded run."""
    rng = random.Random(seed)
    free_at = 0.0
    lags: list[tuple[float, int]] = []
    for second in range(seconds):
        events = rng.randint(1_000, 50_000)
        start = max(float(second), free_at)
        # Twenty slices of the request: each slice's events are stored at its midpoint.
        for piece in range(20):
            stored = start + (piece + 0.5) / 20 * events / capacity
            lags.append((stored - second + overhead, events))
        free_at = start + events / capacity
    lags.sort()
    total = sum(weight for _, weight in lags)
    seen = 0
    for lag, weight in lags:
        seen += weight
        if seen >= 0.99 * total:
            return lag
    return lags[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=120, help="length of the pattern")
    parser.add_argument("--runs", type=int, default=5, help="seeded runs per capacity")
    parser.add_argument("--overhead", type=float, default=0.3, help="seconds added to each lag")
    parser.add_argument(
        "--capacities",
        type=lambda text: [float(value) for value in text.split(",")],
        default=[25_500, 28_000, 30_000, 35_000, 40_000, 50_000],
        help="events stored per second, comma-separated",
    )
    args = parser.parse_args()
    print("capacity/s | lag p99 per seeded run (s)")
    for capacity in args.capacities:
        runs = [lag_p99(capacity, args.seconds, seed, args.overhead) for seed in range(args.runs)]
        print(f"{capacity:>10,.0f} | " + "  ".join(f"{lag:5.2f}" for lag in runs))


if __name__ == "__main__":
    main()
