"""The reporter's Prometheus metrics, on the app's own registry."""

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Final, Literal, get_args

from prometheus_client import CollectorRegistry, Histogram

Category = Literal["events", "revenue", "demographics"]

# From a millisecond (a small summary read) to five seconds (a long demographics range).
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ReporterMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.request_duration = Histogram(
            "funnel_reporter_request_duration_seconds",
            "Time to answer a report request, by report category.",
            ["category"],
            buckets=_BUCKETS,
            registry=registry,
        )
        # Series exist from the start, so the first request of each category shows in rate().
        for category in get_args(Category):
            self.request_duration.labels(category=category)

    @contextmanager
    def timed(self, category: Category) -> Iterator[None]:
        """Observe the block's duration, whether it answers or fails."""
        started = perf_counter()
        try:
            yield
        finally:
            self.request_duration.labels(category=category).observe(perf_counter() - started)
