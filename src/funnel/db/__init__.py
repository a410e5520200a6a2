"""PostgreSQL storage: tables, migrations, the connection pool and the bulk write path."""

from funnel.db.errors import (
    DatabaseError,
    DatabaseUnavailableError,
    DataRefusedError,
    SchemaNotCurrentError,
    is_unavailable,
    translate_errors,
)
from funnel.db.ingest import store_events
from funnel.db.partitions import Partitions
from funnel.db.pool import connect_pool
from funnel.db.rows import (
    COLUMNS,
    NUL_ESCAPE,
    EventRow,
    RawBatch,
    UnstorableEventError,
    raw_batch,
    to_row,
    wire_row,
)
from funnel.db.schema import head_revisions, migration_status, run_migrations

__all__ = [
    "COLUMNS",
    "NUL_ESCAPE",
    "DataRefusedError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "EventRow",
    "Partitions",
    "RawBatch",
    "SchemaNotCurrentError",
    "UnstorableEventError",
    "connect_pool",
    "head_revisions",
    "is_unavailable",
    "migration_status",
    "raw_batch",
    "run_migrations",
    "store_events",
    "to_row",
    "translate_errors",
    "wire_row",
]
