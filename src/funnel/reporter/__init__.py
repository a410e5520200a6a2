"""The reporter: PostgreSQL -> report API (`/reports/events`, `/revenue`, `/demographics`).

`funnel reporter` runs `run(settings)` (in `app`). Reports are exact and read summary tables
for whole buckets and raw events only for a range's edges (see `queries` and docs/storage.md).
"""

from funnel.reporter.app import create_app, run
from funnel.reporter.settings import ReporterSettings

__all__ = ["ReporterSettings", "create_app", "run"]
