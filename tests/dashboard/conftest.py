"""A live system for the browser test, and the browser.

The four services run as subprocesses (as their containers run them) against the session's
NATS (a namespace of their own) and PostgreSQL (a fresh database), the reporter told where the
others listen as `funnel up` tells it; the publisher emulator feeds the gateway. Chromium and
its driver are Debian's packages, not Python ones: the test is skipped, saying so, where they
are missing, and fails instead under CI (`CI` set), where `.ci/run` installs both.
"""

import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from funnel.dashboard import services_environment
from funnel.local import free_port
from funnel.local.services import GATEWAY, SERVICES, funnel_command
from tests.conftest import temporary_database, temporary_subjects
from tests.dashboard.browser import Chromium
from tests.monitoring.processes import Child, running_services

_START_SECONDS = 60.0
_STOP_SECONDS = 15.0


@pytest.fixture(scope="module")
def chromium() -> Chromium:
    """Debian's headless-capable Chromium and its WebDriver."""
    found = {name: shutil.which(name) for name in ("chromium", "chromedriver")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        reason = (
            f"{' and '.join(missing)} not installed (Debian's chromium and chromium-driver;"
            " .ci/run installs them)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return Chromium(Path(str(found["chromium"])), Path(str(found["chromedriver"])))


@pytest.fixture(scope="module")
async def system(
    nats_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, Child]]:
    """Gateway, both collectors and the reporter (with its dashboard told of all four), ready."""
    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    async with (
        temporary_subjects(nats_url, prefix="d") as names,
        temporary_database(postgres_url, prefix="funnel_dashboard_") as database_url,
    ):
        env = {
            **os.environ,
            "APP_ENV": "development",
            "LOG_FORMAT": "json",
            "NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "FUNNEL_NAMESPACE": names.namespace,
            "SHUTDOWN_GRACE_SECONDS": "5",
            # The backlog gauges follow the traffic within a poll or two of the page.
            "LAG_INTERVAL_SECONDS": "1",
            # ...and the storage figures within a retention round.
            "RETENTION_INTERVAL_SECONDS": "1",
            **services_environment(urls),
        }
        logs = tmp_path_factory.mktemp("dashboard-services")
        async with running_services(ports, env, logs, within=_START_SECONDS) as children:
            yield children


@dataclass
class Publisher:
    """The emulator posting to the gateway until `stop`."""

    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> str:
        """SIGTERM (the emulator lets its requests finish), then its summary."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def publisher(
    system: dict[str, Child], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Publisher]:
    """The publisher emulator at a small, steady load (the real one's shape, scaled down)."""
    argv = funnel_command(
        "publish",
        *("--url", system[GATEWAY].url("/webhook")),
        *("--min", "150", "--max", "300", "--interval", "0.5", "--seed", "22"),
    )
    log = tmp_path_factory.mktemp("publisher") / "publisher.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Publisher(process, log)
    try:
        yield running
    finally:
        running.stop()
