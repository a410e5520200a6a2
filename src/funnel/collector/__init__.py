"""The collectors: JetStream -> PostgreSQL, one package deployed once per source.

`funnel collector --source facebook|tiktok` runs `run(settings)` (in `app`): an ASGI app
serving health and metrics whose lifespan pulls batches from the source's durable consumer
and stores them, acknowledging each message only after its rows are committed.
"""

from funnel.collector.app import create_app, run
from funnel.collector.metrics import CollectorMetrics
from funnel.collector.settings import CollectorSettings
from funnel.collector.writer import BatchWriter

__all__ = ["BatchWriter", "CollectorMetrics", "CollectorSettings", "create_app", "run"]
