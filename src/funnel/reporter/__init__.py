"""The reporter: PostgreSQL -> report API (`/reports/events`, `/revenue`, `/demographics`).

`funnel reporter` runs `run(settings)`. Reports are exact and read summary tables for whole
buckets and raw events only for a range's edges (see `queries` and docs/storage.md).
"""

from funnel.observability import Readiness, configure_logging
from funnel.reporter.app import create_app
from funnel.reporter.settings import ReporterSettings
from funnel.server import serve


def run(settings: ReporterSettings) -> None:
    """Serve the reporter until SIGTERM or Ctrl-C, then shut down in order."""
    configure_logging("reporter", settings.log_level, settings.effective_log_format)
    readiness = Readiness()
    serve(create_app(settings, readiness), settings, readiness)


__all__ = ["ReporterSettings", "create_app", "run"]
