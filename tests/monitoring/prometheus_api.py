"""A small client for Prometheus's HTTP API: instant queries, rules and targets."""

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any, Final

import httpx

_POLL_SECONDS: Final = 0.5

Series = list[dict[str, Any]]


def has_data(result: Series) -> bool:
    """At least one series, and every value a finite number (NaN is no answer)."""
    return bool(result) and all(math.isfinite(float(series["value"][1])) for series in result)


class PrometheusApi:
    """The API of the Prometheus at `url`, through `client`."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = url

    async def _get(self, path: str, **params: str) -> Any:
        response = await self._client.get(f"{self._url}{path}", params=params)
        body = response.json()
        assert response.status_code == 200, body
        assert body["status"] == "success", body
        return body["data"]

    async def query(self, expr: str) -> Series:
        """The instant vector `expr` evaluates to now; fails unless Prometheus says success."""
        data = await self._get("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", data
        result: Series = data["result"]
        return result

    async def wait_for(
        self, expr: str, accept: Callable[[Series], bool], *, within: float
    ) -> Series:
        """The first result of `expr` that `accept` takes, polling up to `within` seconds;
        the last result if none is taken by then."""
        deadline = time.monotonic() + within
        while True:
            result = await self.query(expr)
            if accept(result) or time.monotonic() > deadline:
                return result
            await asyncio.sleep(_POLL_SECONDS)

    async def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule, flattened across groups."""
        data = await self._get("/api/v1/rules")
        return [rule for group in data["groups"] for rule in group["rules"]]

    async def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets."""
        data = await self._get("/api/v1/targets", state="active")
        targets: list[dict[str, Any]] = data["activeTargets"]
        return targets
