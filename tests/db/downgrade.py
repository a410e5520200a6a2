"""Taking a test database's schema down to an earlier revision, as `alembic downgrade` does."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import funnel.db
from funnel.settings import to_sqlalchemy_url


async def downgrade(database_url: str, revision: str) -> None:
    """Run the migrations' downgrades from head to `revision`, in one transaction."""
    config = Config()
    config.set_main_option("script_location", str(Path(funnel.db.__file__).with_name("migrations")))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    engine = create_async_engine(to_sqlalchemy_url(database_url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()
