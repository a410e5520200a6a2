"""The reporter as a service: health, metrics, correlation ids, OpenAPI, database outages."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx
from structlog.testing import capture_logs

from tests.reporter.conftest import running_reporter


async def test_ready_with_database_and_migrations(client: httpx.AsyncClient) -> None:
    """Readiness names the database and migrations checks, both ok."""
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "lifecycle": "ok"}


async def test_latency_metric_by_category(client: httpx.AsyncClient) -> None:
    """Each report observes its duration under its category."""
    for category in ("events", "revenue", "demographics"):
        await client.get(f"/reports/{category}")
    text = (await client.get("/metrics")).text
    for category in ("events", "revenue", "demographics"):
        assert f'funnel_reporter_request_duration_seconds_count{{category="{category}"}}' in text


async def test_correlation_id_on_answer_and_logs(client: httpx.AsyncClient) -> None:
    """The caller's correlation id comes back and is on the request's log lines."""
    with capture_logs() as logs:
        response = await client.get(
            "/reports/events", params={"source": "x"}, headers={"X-Correlation-ID": "req-42"}
        )
    assert response.headers["X-Correlation-ID"] == "req-42"
    fresh = await client.get("/reports/events")
    assert len(fresh.headers["X-Correlation-ID"]) >= 16
    assert all(line.get("correlation_id", "req-42") == "req-42" for line in logs)


async def test_openapi_documents_parameters(client: httpx.AsyncClient) -> None:
    """/docs serves; the schema lists each report's parameters and shows example answers."""
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    events = schema["paths"]["/reports/events"]["get"]
    names = {parameter["name"] for parameter in events["parameters"]}
    assert names == {"from", "to", "source", "funnelStage", "eventType", "interval"}
    assert "400" in events["responses"]
    for model in ("EventsReport", "RevenueReport", "DemographicsReport"):
        assert schema["components"]["schemas"][model]["examples"]
    revenue = schema["paths"]["/reports/revenue"]["get"]
    assert {p["name"] for p in revenue["parameters"]} == {"from", "to", "source", "campaignId"}


class _Proxy:
    """A TCP proxy to PostgreSQL that a test can cut (like an outage) and restore."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()


@contextlib.asynccontextmanager
async def _proxied(database_url: str) -> AsyncIterator[tuple[_Proxy, str]]:
    parts = urlsplit(database_url)
    proxy = _Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    yield proxy, urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    with contextlib.suppress(AssertionError):
        await proxy.cut()


async def test_database_outage_answers_503_then_recovers(database_url: str) -> None:
    """While the database is unreachable reports and readiness answer 503 JSON; then 200."""
    async with _proxied(database_url) as (proxy, url), running_reporter(url) as client:
        assert (await client.get("/reports/revenue")).status_code == 200
        await proxy.cut()
        down = await client.get("/reports/revenue")
        assert down.status_code == 503
        assert "error" in down.json()
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] != "ok"
        await proxy.start()
        assert (await client.get("/reports/revenue")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
