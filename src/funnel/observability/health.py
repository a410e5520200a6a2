"""Liveness and readiness: `/health/live` and `/health/ready` from named async checks.

A check is an async callable that returns when its dependency is usable and raises
otherwise; the exception's message is what `/health/ready` reports for it.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[None]]
# What a service reports beside its checks (a collector: its storage footprint).
Details = Callable[[], Mapping[str, Any]]

_log = structlog.get_logger(__name__)


class Phase(Enum):
    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


class Readiness:
    """What `/health/ready` asks: the service's phase and its named dependency checks."""

    def __init__(self, timeout_seconds: float = 2.0) -> None:
        self._checks: dict[str, Check] = {}
        self._details: dict[str, Details] = {}
        self._timeout = timeout_seconds
        self.phase = Phase.STARTING

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def describe(self, name: str, details: Details) -> None:
        """Report `details()` under `details.<name>` in every `/health/ready` answer."""
        self._details[name] = details

    def details(self) -> dict[str, Mapping[str, Any]]:
        return {name: details() for name, details in self._details.items()}

    @property
    def is_draining(self) -> bool:
        return self.phase in (Phase.DRAINING, Phase.STOPPED)

    async def run(self) -> dict[str, str]:
        """Every check's result, "ok" or the reason it failed; the phase is a check too."""
        names = list(self._checks)
        results = await asyncio.gather(
            *(self._run_one(self._checks[name]) for name in names), return_exceptions=False
        )
        report = dict(zip(names, results, strict=True))
        report["lifecycle"] = "ok" if self.phase is Phase.RUNNING else self.phase.value
        return report

    async def _run_one(self, check: Check) -> str:
        try:
            await asyncio.wait_for(check(), self._timeout)
        except TimeoutError:
            return f"timed out after {self._timeout:g}s"
        except Exception as exc:  # a failing check is data for the probe, not a crash
            return str(exc) or type(exc).__name__
        return "ok"


def health_router() -> APIRouter:
    """Routes reading the `readiness` object from the lifespan state."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", response_model=None)
    async def ready(request: Request) -> Any:
        readiness: Readiness = request.state.readiness
        checks = await readiness.run()
        failing = {name: result for name, result in checks.items() if result != "ok"}
        details = {"details": found} if (found := readiness.details()) else {}
        if failing:
            _log.info("not_ready", checks=failing)
            return JSONResponse(
                {"status": "not_ready", "checks": checks, **details}, status_code=503
            )
        return {"status": "ready", "checks": checks, **details}

    return router
