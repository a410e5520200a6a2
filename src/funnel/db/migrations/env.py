"""Alembic's environment: runs on the connection `funnel.db.run_migrations` hands over.

`run_migrations` opens the transaction and takes the advisory lock; this module only
points Alembic at that connection and at the tables, so every migration of one upgrade
runs inside that single locked transaction.
"""

from alembic import context
from sqlalchemy.engine import Connection

from funnel.db.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use `funnel migrate`")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("migrations run through `funnel migrate` or funnel.db.run_migrations")
_run(_connection)
