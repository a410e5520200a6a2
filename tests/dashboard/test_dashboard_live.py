"""The live snapshot: each service's readiness with its reasons and its Funnel samples, asked
over real HTTP; a service that does not answer is a state with a reason, never an error."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import ValidationError

from funnel.dashboard import (
    DashboardSettings,
    LiveSource,
    parse_samples,
    services_environment,
)
from funnel.local import free_port
from funnel.observability import Phase, Readiness, health_router, metrics_router


def _registry() -> CollectorRegistry:
    """A service's registry: a counter, a histogram, and series the page must not get."""
    registry = CollectorRegistry()
    Counter("funnel_test_events_total", "Events.", ["source"], registry=registry).labels(
        "tiktok"
    ).inc(7)
    Histogram(
        "funnel_test_duration_seconds", "Durations.", buckets=(0.1, 1.0), registry=registry
    ).observe(0.5)
    Gauge("funnel_test_unknown", "Not known yet.", registry=registry).set(float("nan"))
    Gauge("other_thing", "Not Funnel's.", registry=registry).set(1)
    return registry


class _Flaky:
    """A readiness check that fails, with a reason, while `failing` is set."""

    def __init__(self) -> None:
        self.failing = False

    async def __call__(self) -> None:
        if self.failing:
            raise RuntimeError("database unreachable")


@contextlib.asynccontextmanager
async def _service(check: _Flaky) -> AsyncIterator[str]:
    """A service with Funnel's own health and metrics routes, under uvicorn on a free port."""
    readiness = Readiness()
    readiness.add("database", check)
    registry = _registry()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        readiness.phase = Phase.RUNNING
        yield {"readiness": readiness, "registry": registry}

    app = FastAPI(lifespan=lifespan)
    app.include_router(health_router())
    app.include_router(metrics_router())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    await task  # raises what stopped it from starting
                    pytest.fail("the service exited before it started")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _settings(**services: str) -> DashboardSettings:
    return DashboardSettings.model_validate({"dashboard_services": services})


async def test_a_snapshot_holds_readiness_and_funnel_samples() -> None:
    """A ready service is ready with its checks, and its Funnel samples come as numbers."""
    check = _Flaky()
    async with _service(check) as url, LiveSource(_settings(gateway=url)) as source:
        snapshot = await source.snapshot()
    (state,) = snapshot.services
    assert (state.name, state.ready, state.error) == ("gateway", True, None)
    assert state.checks == {"database": "ok", "lifecycle": "ok"}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in state.samples}
    assert samples[("funnel_test_events_total", (("source", "tiktok"),))] == 7
    assert samples[("funnel_test_duration_seconds_bucket", (("le", "1.0"),))] == 1
    assert samples[("funnel_test_duration_seconds_bucket", (("le", "+Inf"),))] == 1
    assert all(s.name.startswith("funnel_") for s in state.samples)
    assert not any(s.name.endswith("_created") for s in state.samples)
    # NaN has no JSON: a figure not known yet is left out, and the page says "n/a".
    assert not any(s.name == "funnel_test_unknown" for s in state.samples)


async def test_a_failing_check_and_a_silent_service_are_states_with_reasons() -> None:
    """Not ready names the failing check's reason; a port nobody serves says why, in order."""
    check = _Flaky()
    check.failing = True
    silent = f"http://127.0.0.1:{free_port()}"
    async with (
        _service(check) as url,
        LiveSource(_settings(collector=url, reporter=silent)) as source,
    ):
        snapshot = await source.snapshot()
    failing, down = snapshot.services
    assert (failing.name, failing.ready) == ("collector", False)
    assert failing.checks["database"] == "database unreachable"
    assert failing.error is None
    assert failing.samples
    assert (down.name, down.ready, down.checks, down.samples) == ("reporter", False, {}, [])
    assert down.error is not None
    assert "readiness: ConnectError" in down.error
    assert "metrics: ConnectError" in down.error


async def test_use_outside_its_block_is_loud() -> None:
    """A snapshot before `async with` (or after it) raises instead of hanging or lying."""
    source = LiveSource(_settings(gateway="http://127.0.0.1:1"))
    with pytest.raises(RuntimeError, match="outside"):
        await source.snapshot()


def test_only_funnel_series_are_kept_and_bad_text_is_refused() -> None:
    """Funnel's finite series pass, `_created` and foreign ones do not; text that is not the
    format is a ValueError, as the Prometheus parser says."""
    names = {sample.name for sample in parse_samples(generate_latest(_registry()).decode())}
    assert names == {
        "funnel_test_events_total",
        "funnel_test_duration_seconds_bucket",
        "funnel_test_duration_seconds_count",
        "funnel_test_duration_seconds_sum",
    }
    with pytest.raises(ValueError):  # noqa: PT011 - the parser raises a plain ValueError
        parse_samples("funnel_x{unclosed 1\n")


def test_settings_read_the_services_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable `funnel up` writes is read back as the same services, in order."""
    urls = {"gateway": "http://127.0.0.1:3000", "reporter": "http://127.0.0.1:3003"}
    for name, value in services_environment(urls).items():
        monkeypatch.setenv(name, value)
    services = DashboardSettings().dashboard_services
    assert list(services) == ["gateway", "reporter"]
    assert [str(url).rstrip("/") for url in services.values()] == list(urls.values())
    monkeypatch.setenv("DASHBOARD_SERVICES", '{"gateway": "not a url"}')
    with pytest.raises(ValidationError, match="gateway"):
        DashboardSettings()
