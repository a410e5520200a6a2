"""PostgreSQL storage: tables, migrations, the connection pool and the bulk write path."""

from funnel.db.errors import (
    DatabaseError,
    DatabaseUnavailableError,
    DataRefusedError,
    SchemaNotCurrentError,
    is_unavailable,
)
from funnel.db.pool import connect_pool
from funnel.db.schema import head_revisions, migration_status, run_migrations

__all__ = [
    "DataRefusedError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "SchemaNotCurrentError",
    "connect_pool",
    "head_revisions",
    "is_unavailable",
    "migration_status",
    "run_migrations",
]
