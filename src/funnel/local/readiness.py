"""Waiting, with a bound, until every service's `/health/ready` answers 200.

Progress goes to the runner's log: a line per service as it turns ready, with the time it
took, and every few seconds the ones still awaited. A service that keeps dying, or is not
ready by the deadline, ends the wait with `StartupError` naming it, why, and its last lines.
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx
import structlog

from funnel.local.process import ServiceProcess

_POLL_SECONDS: Final = 0.5
_PROGRESS_SECONDS: Final = 5.0

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class NotReady:
    service: str
    reason: str
    last_lines: tuple[str, ...]


class StartupError(RuntimeError):
    """Some services did not become ready; `failures` says which and why."""

    def __init__(self, failures: Sequence[NotReady]) -> None:
        self.failures = tuple(failures)
        names = ", ".join(failure.service for failure in self.failures)
        super().__init__(f"not ready: {names}")


async def _probe(client: httpx.AsyncClient, url: str) -> str | None:
    """None when ready, else what the endpoint said (or why it could not be asked)."""
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if response.status_code == 200:
        return None
    return f"HTTP {response.status_code}: {response.text[:300]}"


async def wait_until_ready(
    services: Sequence[tuple[ServiceProcess, str]],
    *,
    within: float,
    max_exits: int = 3,
) -> None:
    """Poll each `(process, readiness URL)` until all answer 200; bounded by `within` seconds.

    Raises `StartupError` once a process has exited `max_exits` times or at the deadline.
    """
    started = time.monotonic()
    deadline = started + within
    reasons = {process.name: "not asked yet" for process, _ in services}
    pending = list(services)
    next_progress = started + _PROGRESS_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as client:
        while pending:
            crashed = [p for p, _ in pending if p.exits >= max_exits]
            if crashed:
                raise StartupError(
                    [
                        NotReady(
                            p.name,
                            f"exited {p.exits} times (last status {p.returncode})",
                            p.last_lines,
                        )
                        for p in crashed
                    ]
                )
            answers = await asyncio.gather(*(_probe(client, url) for _, url in pending))
            still: list[tuple[ServiceProcess, str]] = []
            for (process, url), reason in zip(pending, answers, strict=True):
                if reason is None:
                    elapsed = time.monotonic() - started
                    _log.info(
                        "service_ready", service=process.name, duration_ms=round(elapsed * 1000)
                    )
                else:
                    reasons[process.name] = reason
                    still.append((process, url))
            pending = still
            if not pending:
                return
            now = time.monotonic()
            if now >= deadline:
                raise StartupError(
                    [NotReady(p.name, reasons[p.name], p.last_lines) for p, _ in pending]
                )
            if now >= next_progress:
                waiting = [p.name for p, _ in pending]
                _log.info("waiting_for_services", services=waiting, elapsed_s=round(now - started))
                next_progress = now + _PROGRESS_SECONDS
            await asyncio.sleep(_POLL_SECONDS)
