"""Running Funnel on one machine without Docker: embedded servers and process supervision."""

from funnel.local.nats import EmbeddedNats, EmbeddedServerError, free_port
from funnel.local.postgres import EmbeddedPostgres

__all__ = ["EmbeddedNats", "EmbeddedPostgres", "EmbeddedServerError", "free_port"]
