"""The live panels' data: every configured service's readiness and metrics, asked server-side.

A browser may not read other ports than the page's own, so the process serving the page asks
each service's `/health/ready` and `/metrics` itself and answers one JSON snapshot. It only
ever asks the addresses in its settings; nothing in a request chooses where it connects.
Rates, stacks and quantiles are the page's to compute, from successive snapshots.
"""

import asyncio
import math
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, HttpUrl

from funnel.dashboard.settings import DashboardSettings

# Funnel's own series; a registry holds nothing else today, but the page reads only these.
_PREFIX = "funnel_"


class Sample(BaseModel):
    """One Prometheus sample (a histogram's buckets are samples of `<name>_bucket`)."""

    name: str
    labels: dict[str, str]
    value: float


class ServiceState(BaseModel):
    """What one service said just now; `error` says why a question got no answer."""

    name: str
    ready: bool
    checks: dict[str, str]
    error: str | None
    samples: list[Sample]


class LiveSnapshot(BaseModel):
    """Every configured service at one moment (`at`, Unix seconds), in the settings' order."""

    at: float
    services: list[ServiceState]


def parse_samples(text: str) -> list[Sample]:
    """Funnel's finite samples from Prometheus text (`_created` series left out)."""
    return [
        Sample(name=sample.name, labels=dict(sample.labels), value=sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(_PREFIX)
        and not sample.name.endswith("_created")
        and math.isfinite(sample.value)
    ]


def _reason(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class LiveSource:
    """Asks the configured services; an async context manager owning one HTTP client."""

    def __init__(self, settings: DashboardSettings) -> None:
        self._services = settings.dashboard_services
        self._timeout = settings.dashboard_timeout_seconds
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> "LiveSource":
        self._client = httpx.AsyncClient(timeout=self._timeout)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("LiveSource used outside `async with`")
        return self._client

    async def snapshot(self) -> LiveSnapshot:
        """Every service, asked concurrently; a failing one is a state, never an error."""
        at = time.time()
        states = await asyncio.gather(
            *(self._state(name, url) for name, url in self._services.items())
        )
        return LiveSnapshot(at=at, services=list(states))

    async def _state(self, name: str, base: HttpUrl) -> ServiceState:
        (ready, checks, not_ready), (samples, no_metrics) = await asyncio.gather(
            self._readiness(base), self._metrics(base)
        )
        errors = [error for error in (not_ready, no_metrics) if error is not None]
        return ServiceState(
            name=name, ready=ready, checks=checks, error="; ".join(errors) or None, samples=samples
        )

    async def _readiness(self, base: HttpUrl) -> tuple[bool, dict[str, str], str | None]:
        """Ready or not, each check's result, and why there was no usable answer."""
        try:
            response = await self._http.get(_join(base, "/health/ready"))
            body = response.json()
        except httpx.HTTPError as exc:
            return False, {}, f"readiness: {_reason(exc)}"
        except ValueError:
            return False, {}, f"readiness: not JSON ({response.status_code})"
        checks = body.get("checks") if isinstance(body, dict) else None
        if not isinstance(checks, dict):
            return False, {}, f"readiness: no checks in the answer ({response.status_code})"
        results = {str(check): str(result) for check, result in checks.items()}
        return response.status_code == 200, results, None

    async def _metrics(self, base: HttpUrl) -> tuple[list[Sample], str | None]:
        """The service's samples, and why there were none."""
        try:
            response = await self._http.get(_join(base, "/metrics"))
            response.raise_for_status()
            return parse_samples(response.text), None
        except httpx.HTTPError as exc:
            return [], f"metrics: {_reason(exc)}"
        except ValueError as exc:  # the parser's word for text that is not the format
            return [], f"metrics: not Prometheus text ({exc})"


def _join(base: HttpUrl, path: str) -> str:
    return str(base).rstrip("/") + path
