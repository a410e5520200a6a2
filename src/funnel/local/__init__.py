"""Running Funnel on one machine without Docker: embedded servers and process supervision."""

from funnel.local.nats import EmbeddedNats, EmbeddedServerError, free_port
from funnel.local.postgres import EmbeddedPostgres
from funnel.local.runner import READY_BANNER, UpOptions, up
from funnel.local.services import DEFAULT_PORT_BASE, PublisherShape

__all__ = [
    "DEFAULT_PORT_BASE",
    "READY_BANNER",
    "EmbeddedNats",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "PublisherShape",
    "UpOptions",
    "free_port",
    "up",
]
