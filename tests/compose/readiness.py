"""What each service's `/health/ready` said, asked from the host four times a second.

The host reaches every container on the project's own network, so each replica is asked on
its own address, not through a load balancer. A probe that gets no answer within its timeout
counts as not ready (a service that cannot answer cannot work either).
"""

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import httpx

_INTERVAL: Final = 0.25
_TIMEOUT: Final = 1.0


@dataclass(frozen=True)
class Probe:
    at: float
    """`time.monotonic()` when the probe was sent."""
    ready: bool


@dataclass
class ReadinessWatch:
    """Probes of every target (name -> `/health/ready` URL) until stopped."""

    targets: Mapping[str, str]
    probes: dict[str, list[Probe]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name, url in self.targets.items():
            self.probes[name] = []
            self._tasks.append(asyncio.create_task(self._watch(name, url)))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _watch(self, name: str, url: str) -> None:
        async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    ready = (await client.get(url)).status_code == 200
                except httpx.HTTPError:
                    ready = False
                self.probes[name].append(Probe(sent, ready))
                await asyncio.sleep(max(0.0, _INTERVAL - (time.monotonic() - sent)))

    def not_ready_seconds(self, name: str, start: float, end: float) -> float:
        """How long `name` said not-ready between `start` and `end`: each failed probe
        sent then counts until the next probe was sent (a probe may wait out its timeout)."""
        probes = self.probes[name]
        ends = [probe.at for probe in probes[1:]] + [probes[-1].at + _INTERVAL] if probes else []
        return sum(
            until - probe.at
            for probe, until in zip(probes, ends, strict=True)
            if not probe.ready and start <= probe.at <= end
        )

    def ready_since(self, name: str) -> float | None:
        """When the current run of ready answers began; None if the last probe failed."""
        since = None
        for probe in self.probes[name]:
            since = (since or probe.at) if probe.ready else None
        return since

    async def all_ready(self, after: float, within: float) -> float:
        """Wait until every target answered ready in a probe sent after `after`, and ready
        ever since; the moment the last of them turned ready."""
        async with asyncio.timeout(within):
            while True:
                since = [self.ready_since(name) for name in self.targets]
                sent_after = all(
                    self.probes[name] and self.probes[name][-1].at > after for name in self.targets
                )
                if sent_after and None not in since:
                    return max(max(moment or 0.0 for moment in since), after)
                await asyncio.sleep(_INTERVAL)
