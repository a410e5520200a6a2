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
from funnel.db.retention import Dropped, Footprint, RetentionPolicy, footprint, maintain
from funnel.db.rows import (
    COLUMNS,
    NUL_ESCAPE,
    EventRow,
    RawBatch,
    UnstorableEventError,
    event_key,
    raw_batch,
    to_row,
    unpack_batch,
    wire_row,
)
from funnel.db.schema import head_revisions, migration_status, run_migrations
from funnel.db.seen_users import SeenUsers
from funnel.db.summaries import audience_facts

__all__ = [
    "COLUMNS",
    "NUL_ESCAPE",
    "DataRefusedError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "Dropped",
    "EventRow",
    "Footprint",
    "Partitions",
    "RawBatch",
    "RetentionPolicy",
    "SchemaNotCurrentError",
    "SeenUsers",
    "UnstorableEventError",
    "audience_facts",
    "connect_pool",
    "event_key",
    "footprint",
    "head_revisions",
    "is_unavailable",
    "maintain",
    "migration_status",
    "raw_batch",
    "run_migrations",
    "store_events",
    "to_row",
    "translate_errors",
    "unpack_batch",
    "wire_row",
]
