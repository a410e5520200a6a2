"""What an emulator run did: requests, events, answers and latency, added up as it goes."""

import math
from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Summary:
    """Counts of one run. Every request ends as exactly one of `ok`, `non_2xx`, `errors`."""

    requests: int = 0
    events: int = 0
    corrupted: int = 0
    # Corrupted events that upstream's corruption left as they were, so still valid.
    unchanged: int = 0
    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    skipped: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    _latencies_ms: list[float] = field(default_factory=list, repr=False)

    def sent(self, count: int, corrupted: bool, unchanged: bool) -> None:
        self.requests += 1
        self.events += count
        self.corrupted += corrupted
        self.unchanged += unchanged

    def answered(self, status: int, duration_ms: float) -> None:
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.ok += 1
        else:
            self.non_2xx += 1
        self._latencies_ms.append(duration_ms)

    def failed(self) -> None:
        """A request that got no answer: connection error, timeout, abandoned at shutdown."""
        self.errors += 1

    def latency_ms(self, quantile: float) -> float | None:
        """The nearest-rank `quantile` (0..1) of answered requests' latency, or None."""
        if not self._latencies_ms:
            return None
        ordered = sorted(self._latencies_ms)
        rank = max(1, math.ceil(quantile * len(ordered)))
        return ordered[rank - 1]

    def render(self) -> str:
        """A few lines for a person at a terminal."""
        p50, p99 = self.latency_ms(0.5), self.latency_ms(0.99)
        latency = "-" if p50 is None or p99 is None else f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return "\n".join(
            (
                f"requests:  {self.requests} ({self.corrupted} with a corrupted event, "
                f"{self.unchanged} of them left valid; {self.skipped} ticks skipped)",
                f"events:    {self.events}",
                f"answers:   {self.ok} 2xx, {self.non_2xx} non-2xx, {self.errors} without answer"
                + (f" ({statuses})" if statuses else ""),
                f"latency:   {latency}",
            )
        )
