"""Running a service's ASGI app under uvicorn with Funnel's shutdown order.

On SIGTERM or Ctrl-C: readiness turns 503 at once (and the service refuses new work), then
after `shutdown_delay_seconds` uvicorn stops listening and waits up to
`shutdown_grace_seconds` for requests in flight, then the lifespan closes its resources
(finish in-flight work, drain NATS) and the process exits with status 0; a start-up that
fails exits with uvicorn's status 3.
"""

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TypeVar

import structlog
import uvicorn
from starlette.types import ASGIApp

from funnel.gc_tuning import tune_for_bulk_json
from funnel.observability import Phase, Readiness, configure_logging
from funnel.settings import ServiceSettings

_Settings = TypeVar("_Settings", bound=ServiceSettings)

_log = structlog.get_logger(__name__)


class _DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, readiness: Readiness, delay: float) -> None:
        super().__init__(config)
        self._readiness = readiness
        self._delay = delay

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first = not self._readiness.is_draining
        if first:
            self._readiness.phase = Phase.DRAINING
            _log.info("shutdown_requested", signal=signal.Signals(sig).name)
        if first and self._delay > 0:
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(loop.call_later, self._delay, super().handle_exit, sig, frame)
            return
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # Once shut down, uvicorn raises the stop signal again with its default handler,
            # so the process would end as killed by SIGTERM (-15), which reads as a crash. A
            # graceful stop is a success: forget the signals and exit 0.
            self._captured_signals.clear()


def serve(app: ASGIApp, settings: ServiceSettings, readiness: Readiness) -> None:
    """Run `app` until a shutdown signal; `readiness` is the object its lifespan exposes."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        # Publisher bodies reach ~30 MB; the default 64 KiB flow-control window is fine,
        # but keep-alive must outlive the publisher's one-second cadence.
        timeout_keep_alive=30,
    )
    _DrainingServer(config, readiness, settings.shutdown_delay_seconds).run()


def run_service(
    name: str,
    settings: _Settings,
    create_app: Callable[[_Settings, Readiness], ASGIApp],
    *,
    bulk_json: bool = False,
) -> None:
    """A service's entry point (`funnel gateway`, ...): logs as `name`, builds its app and
    serves it until SIGTERM or Ctrl-C, then shuts down in order. `bulk_json` services parse
    thousands of events at once and get the garbage collector tuned for it."""
    configure_logging(name, settings.log_level, settings.effective_log_format)
    readiness = Readiness()
    app = create_app(settings, readiness)
    if bulk_json:
        tune_for_bulk_json()
    serve(app, settings, readiness)
