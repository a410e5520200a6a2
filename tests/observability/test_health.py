"""Liveness and readiness endpoints answer from named checks and the service phase."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from funnel.observability import Phase, Readiness, health_router, metrics_router


def _app(readiness: Readiness, registry: CollectorRegistry) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, object]]:
        yield {"readiness": readiness, "registry": registry}

    app = FastAPI(lifespan=lifespan)
    app.include_router(health_router())
    app.include_router(metrics_router())
    return app


@asynccontextmanager
async def _client(
    readiness: Readiness, registry: CollectorRegistry
) -> AsyncIterator[httpx.AsyncClient]:
    app = _app(readiness, registry)
    async with app.router.lifespan_context(app) as state:
        transport = httpx.ASGITransport(app=_with_state(app, state))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _with_state(app: FastAPI, state: object) -> FastAPI:
    # httpx's ASGI transport sends no lifespan events: hand the state over as uvicorn would.
    async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        scope["state"] = dict(state)  # type: ignore[call-overload]
        await app(scope, receive, send)

    return asgi  # type: ignore[return-value]


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionError("nats: connection refused")


async def test_ready_when_running_and_checks_pass() -> None:
    """All checks passing in the running phase gives 200 and each check's result."""
    readiness = Readiness()
    readiness.add("nats", _ok)
    readiness.phase = Phase.RUNNING
    async with _client(readiness, CollectorRegistry()) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"nats": "ok", "lifecycle": "ok"}}


async def test_not_ready_names_the_failing_check() -> None:
    """A failing check gives 503 with its reason in the body."""
    readiness = Readiness()
    readiness.add("nats", _down)
    readiness.add("database", _ok)
    readiness.phase = Phase.RUNNING
    async with _client(readiness, CollectorRegistry()) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "nats": "nats: connection refused",
        "database": "ok",
        "lifecycle": "ok",
    }


async def test_draining_is_not_ready_but_alive() -> None:
    """While draining, readiness is 503 and liveness stays 200."""
    readiness = Readiness()
    readiness.phase = Phase.DRAINING
    async with _client(readiness, CollectorRegistry()) as client:
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert ready.status_code == 503
    assert ready.json()["checks"]["lifecycle"] == "draining"
    assert live.status_code == 200


async def test_slow_check_times_out() -> None:
    """A check that hangs is reported as timed out instead of hanging the probe."""

    async def hang() -> None:
        import asyncio

        await asyncio.sleep(10)

    readiness = Readiness(timeout_seconds=0.05)
    readiness.add("database", hang)
    readiness.phase = Phase.RUNNING
    async with _client(readiness, CollectorRegistry()) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("timed out")


async def test_metrics_render_the_explicit_registry() -> None:
    """`/metrics` renders the app's own registry in the Prometheus text format."""
    registry = CollectorRegistry()
    Counter("funnel_test_things_total", "things", registry=registry).inc(3)
    async with _client(Readiness(), registry) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "funnel_test_things_total 3.0" in response.text
