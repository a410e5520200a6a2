"""The collector's settings: one package, deployed once per source (`COLLECTOR_SOURCE`)."""

from datetime import timedelta
from typing import Any, Final

from pydantic import ByteSize, Field, model_validator

from funnel.db import RetentionPolicy
from funnel.db.seen_users import DEFAULT_MAX_BYTES
from funnel.events.source import Source
from funnel.reporting import Grain
from funnel.settings import (
    DatabaseSettings,
    NatsSettings,
    RepeatUserSettings,
    RetentionSettings,
    ServiceSettings,
)

# Without `PORT`, each deployment listens where the contract puts it.
_DEFAULT_PORTS: Final[dict[str, int]] = {"facebook": 3001, "tiktok": 3002}


class CollectorSettings(
    ServiceSettings, NatsSettings, DatabaseSettings, RetentionSettings, RepeatUserSettings
):
    """Built once from the environment (`COLLECTOR_SOURCE`, `NATS_URL`, ...) in `run`."""

    collector_source: Source = Field(description="facebook or tiktok: the subject this pulls")
    port: int = Field(default=3001, ge=0, le=65535)

    fetch_messages: int = Field(
        default=10,
        gt=0,
        le=1_000,
        description="messages (of up to 1,000 events) per fetch; one transaction per fetch",
    )
    # A transaction costs PostgreSQL per batch as well as per event: at 1,000 events a
    # transaction it spent ~40% more CPU per event than at 10,000.
    fetch_linger_seconds: float = Field(
        default=0.25,
        ge=0,
        description="how long a short fetch keeps fetching to fill its batch (0: never waits)",
    )
    fetch_timeout_seconds: float = Field(
        default=1.0, gt=0, description="how long one fetch waits for messages"
    )
    # Four: while one loop decodes, up to three transactions keep both of PostgreSQL's cores
    # busy (bench.collector: 2 loops 44k, 3 loops 46k, 4 loops 51-53k rows/s).
    consumers: int = Field(
        default=4,
        gt=0,
        le=16,
        description="fetch loops per process: one validates while another waits on the database",
    )
    # Poison is dead-lettered on its first delivery, and a database outage keeps the batch in
    # hand (marked in progress), so deliveries are used up only by crashes and restarts.
    max_deliver: int = Field(
        default=10, gt=0, description="deliveries of one message before it is dead-lettered"
    )
    ack_wait_seconds: float = Field(
        default=60.0,
        ge=4,
        description="time a fetched message may go without word; a batch in hand is marked "
        "in progress every quarter of it",
    )
    max_ack_pending: int = Field(
        default=1_000, gt=0, description="messages out at once, all replicas together"
    )
    nak_delay_seconds: float = Field(
        default=2.0, ge=0, description="delay before a batch that failed transiently comes back"
    )
    user_filter_max_bytes: ByteSize = Field(
        default=ByteSize(DEFAULT_MAX_BYTES),
        gt=0,
        description="memory for the filters of recent partitions' users (`256MiB`); past it, "
        "the repeat-user probe asks PostgreSQL about every new event's user",
    )
    database_pool_size: int = Field(
        default=6, gt=0, description="connections: one per fetch loop, and some for health"
    )
    # On a shared machine the gateway must win the CPU: a late webhook answer loses the
    # publisher's batch, while a collector that falls behind leaves the backlog in JetStream.
    cpu_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="CPU priority lowered by this much at start (0 keeps it): intake first",
    )
    startup_timeout_seconds: float = Field(
        default=120.0, gt=0, description="how long start-up waits for the database to migrate"
    )
    lag_interval_seconds: float = Field(
        default=5.0, gt=0, description="how often consumer lag gauges are refreshed"
    )

    @property
    def retention_policy(self) -> RetentionPolicy:
        size = None if self.events_retention_size is None else int(self.events_retention_size)
        summaries: dict[Grain, timedelta] = {
            "second": self.summary_second_retention,
            "minute": self.summary_minute_retention,
            "hour": self.summary_hour_retention,
        }
        return RetentionPolicy(self.events_retention_time, size, self.partition_width, summaries)

    @model_validator(mode="before")
    @classmethod
    def _port_of_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and "port" not in data:
            source = data.get("collector_source")
            if isinstance(source, str) and source in _DEFAULT_PORTS:
                return {**data, "port": _DEFAULT_PORTS[source]}
        return data
