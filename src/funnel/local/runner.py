"""`funnel up`: the whole system on one machine, started in order and stopped in order.

Start: environment (`config/<APP_ENV>.env`), NATS and PostgreSQL (embedded under the data dir
unless `NATS_URL` / `DATABASE_URL` are set), `funnel migrate`, the four services, a bounded
wait until each is ready, the table of addresses, then the publisher emulator.

Stop (Ctrl-C or SIGTERM), written once in `_shut_down`: the publisher, then the gateway, then
the collectors once JetStream holds nothing for them (bounded), then the reporter, then the
embedded servers. A second signal skips the rest of the drain wait; every step is bounded.
"""

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import structlog

from funnel.events.subjects import Subjects
from funnel.local.addresses import DEFAULT_DATA_DIR
from funnel.local.console import Console
from funnel.local.drain import wait_for_drain
from funnel.local.environment import (
    ConfigError,
    find_config_dir,
    selected_app_env,
    service_environment,
)
from funnel.local.nats import EmbeddedServerError
from funnel.local.ports import is_free
from funnel.local.process import ServiceProcess, describe_exit
from funnel.local.readiness import StartupError, wait_until_ready
from funnel.local.servers import Endpoints, LocalServers
from funnel.local.services import (
    DEFAULT_PORT_BASE,
    FB_COLLECTOR,
    GATEWAY,
    MIGRATE,
    PUBLISHER,
    REPORTER,
    TTK_COLLECTOR,
    PublisherShape,
    address_rows,
    dashboard_environment,
    funnel_command,
    publisher_command,
    services,
)
from funnel.observability import configure_logging

READY_BANNER: Final = "funnel is ready"
_MIGRATE_TIMEOUT_SECONDS: Final = 120.0
_PUBLISHER_STOP_SECONDS: Final = 10.0
# Past the service's own grace period: uvicorn's and the lifespan's closing steps.
_STOP_MARGIN_SECONDS: Final = 10.0

_log = structlog.get_logger("funnel.local")


@dataclass(frozen=True, slots=True)
class UpOptions:
    """What `funnel up` was asked for; the defaults are the contract's."""

    data_dir: Path = DEFAULT_DATA_DIR
    publisher: bool = True
    shape: PublisherShape = field(default_factory=PublisherShape)
    port_base: int = DEFAULT_PORT_BASE
    config_dir: Path | None = None
    ready_timeout: float = 120.0
    drain_timeout: float = 30.0


class _StopSignal:
    """SIGINT/SIGTERM as events: the first asks for a stop, the second for haste."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.hurry = asyncio.Event()

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.requested.is_set():
            _log.warning("stop_hurried", signal=sig.name)
            self.hurry.set()
            return
        _log.info("stop_requested", signal=sig.name)
        self.requested.set()


async def _unless(event: asyncio.Event, work: Awaitable[object]) -> bool:
    """Run `work` unless `event` fires first (then cancel it); True when `work` finished."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return False


def _configure_runner_logging(env: dict[str, str]) -> None:
    fmt = env.get("LOG_FORMAT") or ("console" if env["APP_ENV"] == "development" else "json")
    level = env.get("LOG_LEVEL", "INFO").upper()
    configure_logging(
        "funnel-up",
        level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO",
        "json" if fmt == "json" else "console",
    )
    # Every readiness probe would be a line; the probe reports outcomes itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _environment(options: UpOptions) -> dict[str, str]:
    app_env = selected_app_env()
    config_dir = options.config_dir or find_config_dir()
    env_file = config_dir / f"{app_env}.env" if config_dir is not None else None
    if options.config_dir is None and env_file is not None and not env_file.exists():
        env_file = None
    env = service_environment(env_file)
    _configure_runner_logging(env)
    if env_file is None:
        _log.warning("no_environment_file", app_env=app_env)
    else:
        _log.info("environment_loaded", app_env=app_env, file=str(env_file))
    return env


async def _migrate(env: dict[str, str], console: Console, stop: _StopSignal) -> bool:
    migrate = ServiceProcess(
        MIGRATE, funnel_command("migrate"), env=env, console=console, restart=False
    )
    migrate.start()
    try:
        finished = await _unless(
            stop.requested, asyncio.wait_for(migrate.wait(), _MIGRATE_TIMEOUT_SECONDS)
        )
    except TimeoutError:
        _log.error("migrate_timed_out", after_s=_MIGRATE_TIMEOUT_SECONDS)
        finished = False
    await migrate.stop()
    if finished and migrate.returncode == 0:
        return True
    if finished:
        _log.error("migrate_failed", outcome=describe_exit(migrate.returncode))
    return False


def _report_not_ready(error: StartupError, console: Console) -> None:
    for failure in error.failures:
        _log.error("service_not_ready", service=failure.service, error=failure.reason)
        console.say(f"--- {failure.service}: {failure.reason}")
        for line in failure.last_lines[-15:]:
            console.say(f"    {line}")


async def _shut_down(
    children: dict[str, ServiceProcess],
    endpoints: Endpoints,
    env: dict[str, str],
    drain_timeout: float,
    stop: _StopSignal,
) -> None:
    """The one shutdown order; each step bounded by its process's stop timeout."""
    for name in (PUBLISHER, GATEWAY):
        if name in children:
            await _stop(children[name])
    collectors = [children[name] for name in (FB_COLLECTOR, TTK_COLLECTOR) if name in children]
    if collectors and drain_timeout > 0:
        subjects = Subjects(namespace=env.get("FUNNEL_NAMESPACE", ""))
        names = [collector.name for collector in collectors]
        drain = wait_for_drain(endpoints.nats_url, subjects, names, within=drain_timeout)
        await _unless(stop.hurry, drain)
    if collectors:
        await asyncio.gather(*(_stop(collector) for collector in collectors))
    if REPORTER in children:
        await _stop(children[REPORTER])


async def _stop(child: ServiceProcess) -> None:
    code = await child.stop()
    if child.killed:
        _log.warning("service_stop_forced", service=child.name, outcome=describe_exit(code))
    elif code == 0:
        _log.info("service_stopped", service=child.name, outcome="stopped cleanly", code=code)
    else:
        # Ended by a crash before or during the stop: it must not read as a clean stop.
        _log.warning("service_stopped", service=child.name, outcome=describe_exit(code), code=code)


def _service_stop_timeout(env: dict[str, str]) -> float:
    try:
        grace = float(env.get("SHUTDOWN_GRACE_SECONDS", "25"))
    except ValueError:
        grace = 25.0
    return grace + _STOP_MARGIN_SECONDS


async def _run(options: UpOptions, console: Console, stop: _StopSignal) -> int:
    started = time.monotonic()
    env = _environment(options)
    data_dir = options.data_dir.resolve()
    _log.info("starting", data_dir=str(data_dir), app_env=env["APP_ENV"])
    layout = services(options.port_base)
    if busy := {s.name: s.port for s in layout.values() if not is_free(s.port)}:
        _log.error("ports_in_use", ports=busy, hint="choose others with --port-base N")
        return 1
    async with LocalServers(data_dir, env) as endpoints:
        env |= {
            "NATS_URL": endpoints.nats_url,
            "DATABASE_URL": endpoints.database_url,
            "HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            **dashboard_environment(layout),
        }
        if stop.requested.is_set() or not await _migrate(env, console, stop):
            return 0 if stop.requested.is_set() else 1
        stop_timeout = _service_stop_timeout(env)
        children = {
            name: ServiceProcess(
                name,
                service.argv,
                env=env | {"PORT": str(service.port)},
                console=console,
                stop_timeout=stop_timeout,
            )
            for name, service in layout.items()
        }
        drain_timeout = 0.0  # nothing to wait for unless the system came up
        try:
            for child in children.values():
                child.start()
            ready = wait_until_ready(
                [
                    (children[name], service.url("/health/ready"))
                    for name, service in layout.items()
                ],
                within=options.ready_timeout,
            )
            if not await _unless(stop.requested, ready):
                return 0
            drain_timeout = options.drain_timeout
            console.table(
                address_rows(
                    layout,
                    nats_url=endpoints.nats_url,
                    nats_monitor_url=endpoints.nats_monitor_url,
                    database_url=endpoints.database_url,
                    data_dir=str(data_dir),
                )
            )
            # Last, so whoever waits for the banner has the addresses too.
            console.say(
                f"{READY_BANNER} in {time.monotonic() - started:.1f}s."
                " Ctrl-C stops everything; the data stays for the next `funnel up`."
            )
            if options.publisher:
                children[PUBLISHER] = ServiceProcess(
                    PUBLISHER,
                    publisher_command(layout[GATEWAY], options.shape),
                    env=env,
                    console=console,
                    stop_timeout=_PUBLISHER_STOP_SECONDS,
                )
                children[PUBLISHER].start()
            await stop.requested.wait()
            return 0
        except StartupError as exc:
            _report_not_ready(exc, console)
            return 1
        finally:
            await _shut_down(children, endpoints, env, drain_timeout, stop)


async def _main(options: UpOptions, console: Console) -> int:
    stop = _StopSignal()
    stop.install()
    try:
        return await _run(options, console, stop)
    except (ConfigError, EmbeddedServerError) as exc:
        if stop.requested.is_set():
            # Ctrl-C reaches the whole process group, so a server still being set up (initdb,
            # pg_ctl) fails of the same stop: that is stopping early, not a fault.
            _log.info("stopped_while_starting", interrupted=str(exc).splitlines()[0])
            return 0
        _log.error("up_failed", error=str(exc))
        return 1
    finally:
        _log.info("stopped")


def up(options: UpOptions, console: Console | None = None) -> int:
    """Run until Ctrl-C or SIGTERM, then stop in order; the exit status (1: did not start)."""
    return asyncio.run(_main(options, console or Console()))
