"""Where a command run beside `funnel up` finds its servers.

`funnel up` keeps the ports of its embedded NATS and PostgreSQL in `<data dir>/ports.json`
(`ports`), and they are not always the defaults: 4222 or 5432 may be another server's.
Commands such as `funnel dlq` and `funnel migrate` therefore take, in this order, the URL the
environment names (`NATS_URL`, `DATABASE_URL`), the local run's server, and only then the
default address.
"""

from pathlib import Path
from typing import Final

from funnel.local.nats import nats_url
from funnel.local.ports import remembered_ports
from funnel.local.postgres import postgres_url
from funnel.settings import DatabaseSettings, NatsSettings

DEFAULT_DATA_DIR: Final = Path(".funnel")
DATABASE_NAME: Final = "funnel"


def local_nats_url(settings: NatsSettings, data_dir: Path) -> str:
    """`NATS_URL` when set, else the NATS of the local run on `data_dir`, else the default."""
    if "nats_url" not in settings.model_fields_set and (
        port := remembered_ports(data_dir).get("nats")
    ):
        return nats_url(port)
    return settings.nats_url


def local_database_url(settings: DatabaseSettings, data_dir: Path) -> str:
    """`DATABASE_URL` when set, else the local run's database on `data_dir`, else the
    default."""
    if "database_url" not in settings.model_fields_set and (
        port := remembered_ports(data_dir).get("postgres")
    ):
        return postgres_url(port, DATABASE_NAME)
    return settings.database_url
