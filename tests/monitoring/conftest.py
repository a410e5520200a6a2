"""A live local system under Prometheus, shared by the module that queries it.

The four services run as subprocesses, as their containers run them, on free ports against
the session's NATS (a namespace of their own) and PostgreSQL (a fresh database); Prometheus
(Debian's `prometheus` package) scrapes them every second with the deployment's rules. The
`traffic` fixture drives webhooks and reports through them and waits until Prometheus has
scraped the result. Prometheus is skipped, saying so, where it is missing, and fails under CI.
"""

import os
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from funnel.events import Subjects
from funnel.local import free_port
from funnel.local.services import GATEWAY, REPORTER, SERVICES
from tests.conftest import temporary_database, temporary_subjects
from tests.monitoring.processes import Child, running_prometheus, running_services
from tests.monitoring.prometheus_api import PrometheusApi, Series
from tests.monitoring.scrape_config import write_local_config
from tests.monitoring.traffic import (
    Sent,
    abandon_upload,
    ask_reports,
    post_events,
    post_malformed,
    publish_undecodable,
)

_START_SECONDS = 60.0
_SCRAPED_SECONDS = 30.0
_ROUNDS = 2


@pytest.fixture(scope="module")
def prometheus_binary() -> Path:
    """Debian's prometheus server binary."""
    found = shutil.which("prometheus")
    if found is None:
        reason = "prometheus is not installed (a Debian package; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(found)


@pytest.fixture(scope="module")
async def namespace(nats_url: str) -> AsyncIterator[Subjects]:
    """Stream and subject names of the module's own; the streams are deleted afterwards."""
    async with temporary_subjects(nats_url, prefix="m") as names:
        yield names


@pytest.fixture(scope="module")
async def module_database(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for the module, dropped afterwards."""
    async with temporary_database(postgres_url, prefix="funnel_monitoring_") as url:
        yield url


@pytest.fixture(scope="module")
async def system(
    nats_url: str,
    namespace: Subjects,
    module_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, Child]]:
    """Gateway, both collectors and reporter, ready, by service name."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "LOG_FORMAT": "json",
        "NATS_URL": nats_url,
        "DATABASE_URL": module_database,
        "FUNNEL_NAMESPACE": namespace.namespace,
        "SHUTDOWN_GRACE_SECONDS": "5",
        # The collectors' JetStream gauges follow the traffic within a scrape or two.
        "LAG_INTERVAL_SECONDS": "1",
        "RETENTION_INTERVAL_SECONDS": "1",
    }
    ports = {name: free_port() for name in SERVICES}
    logs = tmp_path_factory.mktemp("service-logs")
    async with running_services(ports, env, logs, within=_START_SECONDS) as children:
        yield children


@pytest.fixture(scope="module")
async def prometheus(
    system: dict[str, Child],
    prometheus_binary: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[PrometheusApi]:
    """Prometheus scraping `system` with the deployment's rules, ready."""
    port = free_port()
    directory = tmp_path_factory.mktemp("prometheus")
    ports = {name: child.port for name, child in system.items()}
    config = write_local_config(directory, ports, port)
    async with (
        running_prometheus(
            prometheus_binary, config, directory / "data", port, within=_START_SECONDS
        ) as server,
        httpx.AsyncClient(timeout=10.0) as client,
    ):
        yield PrometheusApi(client, server.url())


async def _wait_for_total(prometheus: PrometheusApi, expr: str, expected: float) -> None:
    """Wait until the one-series `expr` reaches `expected` (a redelivery may count twice)."""

    def accept(result: Series) -> bool:
        return len(result) == 1 and float(result[0]["value"][1]) >= expected

    result = await prometheus.wait_for(expr, accept, within=_SCRAPED_SECONDS)
    assert accept(result), f"{expr} is {result}, below {expected:g}"


@pytest.fixture(scope="module")
async def traffic(
    system: dict[str, Child], prometheus: PrometheusApi, nats_url: str, namespace: Subjects
) -> Sent:
    """Webhooks (valid events, corrupt ones, a malformed body, an abandoned upload), a message
    the Facebook collector cannot decode and every report, in rounds that each start once
    Prometheus has scraped the last one.

    One round is not enough: a labelled series (a report category, a failure reason) is born
    holding its first observation, and `rate()` sees only what changes after a series is
    first scraped, so the second round is what the rates and quantiles show.
    """
    await _wait_for_total(prometheus, 'count(up{job!="prometheus"} == 1)', len(SERVICES))
    gateway, reporter = system[GATEWAY], system[REPORTER]
    rng = random.Random(7)
    accepted = rejected = reports = undecodable = 0
    async with httpx.AsyncClient(timeout=60.0) as client:
        webhook = gateway.url("/webhook")
        for _ in range(_ROUNDS):
            sent = await post_events(client, webhook, rng, posts=2, events=500)
            accepted, rejected = accepted + sent.accepted, rejected + sent.rejected
            await post_malformed(client, webhook)
            await abandon_upload("127.0.0.1", gateway.port)
            await publish_undecodable(nats_url, namespace, "facebook")
            undecodable += 1
            await _wait_for_total(
                prometheus, "sum(funnel_collector_events_processed_total)", accepted
            )
            await _wait_for_total(
                prometheus, "sum(funnel_collector_events_failed_total)", undecodable
            )
            reports += await ask_reports(client, reporter.url())
            await _wait_for_total(
                prometheus, "sum(funnel_reporter_request_duration_seconds_count)", reports
            )
    return Sent(accepted, rejected)
