"""Timing a CPU-bound action several times and printing best and median rates."""

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    """Wall-clock seconds of each of `rounds` calls of `action`."""
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return durations


def report(label: str, events: int, durations: list[float], width: int = 28) -> None:
    best, median = min(durations), statistics.median(durations)
    print(
        f"{label:<{width}} best {best * 1000:7.1f} ms ({events / best:>10,.0f} events/s)   "
        f"median {median * 1000:7.1f} ms ({events / median:>10,.0f} events/s)"
    )


def speed_probe(iterations: int = 10_000_000) -> float:
    """Seconds a fixed pure-Python loop takes, run while nothing else of ours is.

    On a shared machine the same code runs faster in one minute than in the next; a run's
    probe, taken before and after it, says which runs can be compared with which.
    """
    return probe_seconds(iterations)[0]


def probe_seconds(iterations: int = 10_000_000) -> tuple[float, float]:
    """The wall and the CPU seconds of one run of the speed probe's loop: beside a load,
    wall time measures the CPU the load leaves over, CPU time how fast a core works."""
    wall, cpu = time.perf_counter(), time.process_time()
    total = 0
    for number in range(iterations):
        total += number
    return time.perf_counter() - wall, time.process_time() - cpu


def probes(before: float, after: float) -> str:
    """Two speed probes as a benchmark prints them."""
    return f"{before:.2f} / {after:.2f} s (larger: a slower machine)"


@contextlib.contextmanager
def speed_probed() -> Iterator[None]:
    """Run the block between two speed probes, then print both (start servers inside it)."""
    before = speed_probe()
    yield
    print(f"speed probe before / after: {probes(before, speed_probe())}")
