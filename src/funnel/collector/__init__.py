"""The collectors: JetStream -> PostgreSQL, one package deployed once per source.

`funnel collector --source facebook|tiktok` runs `run(settings)`: an ASGI app serving
health and metrics whose lifespan pulls batches from the source's durable consumer and
stores them, acknowledging each message only after its rows are committed.
"""

import os

from funnel.collector.app import create_app
from funnel.collector.metrics import CollectorMetrics
from funnel.collector.settings import CollectorSettings
from funnel.collector.writer import BatchWriter
from funnel.events import Subjects
from funnel.garbage import tune_for_bulk_json
from funnel.observability import Readiness, configure_logging
from funnel.server import serve


def run(settings: CollectorSettings) -> None:
    """Serve the collector until SIGTERM or Ctrl-C, then shut down in order."""
    name = Subjects.collector(settings.collector_source)
    configure_logging(name, settings.log_level, settings.effective_log_format)
    if settings.cpu_nice:
        os.nice(settings.cpu_nice)
    readiness = Readiness()
    tune_for_bulk_json()
    serve(create_app(settings, readiness), settings, readiness)


__all__ = ["BatchWriter", "CollectorMetrics", "CollectorSettings", "create_app", "run"]
