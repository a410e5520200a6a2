"""The gateway's settings: the shared service and NATS settings plus the webhook's limits."""

from typing import Self

from pydantic import ByteSize, Field, model_validator

from funnel.jetstream import MAX_BATCH_BYTES, MAX_BATCH_EVENTS
from funnel.settings import NatsSettings, ServiceSettings

_MIB = 1024 * 1024


class GatewaySettings(ServiceSettings, NatsSettings):
    """Built once from the environment (`PORT`, `NATS_URL`, `MAX_BODY_BYTES`, ...) in `run`."""

    port: int = Field(default=3000, ge=0, le=65535)

    max_body_bytes: int = Field(
        default=64 * _MIB, gt=0, description="larger webhook bodies are refused with 413"
    )
    max_in_flight_bytes: ByteSize = Field(
        default=ByteSize(256 * _MIB),
        gt=0,
        description="webhook bodies held at once (being read, validated or published) at most "
        "(`256MiB`); a request past it is answered 503 `overloaded` before its body is read",
    )
    full_stream_check_seconds: float = Field(
        default=0.5,
        gt=0,
        description="while EVENTS is full, how often the gateway looks whether it has room again",
    )
    # The publisher sends up to 50,000 events and may append one corrupted element, so the
    # default takes its largest request whole rather than refusing it for one extra element.
    max_events: int = Field(
        default=50_001, gt=0, description="webhooks with more elements are refused with 413"
    )
    # The defaults are the one message limit (`funnel.jetstream.batch` says why); these may
    # only lower it.
    batch_max_events: int = Field(
        default=MAX_BATCH_EVENTS,
        gt=0,
        le=MAX_BATCH_EVENTS,
        description="events in one JetStream message at most",
    )
    batch_max_bytes: int = Field(
        default=MAX_BATCH_BYTES,
        ge=4096,
        le=MAX_BATCH_BYTES,
        description="JSON bytes of one JetStream message at most",
    )
    publish_concurrency: int = Field(
        default=64, gt=0, description="JetStream publishes awaiting their ack at once, per process"
    )
    nats_reconnect_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        description="a webhook that comes while NATS is reconnecting waits this long for the "
        "connection before its 503 (a cluster node's failover takes well under a second)",
    )
    ack_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long one publish waits for its JetStream ack"
    )
    max_errors_in_answer: int = Field(
        default=100, ge=0, description="rejected events listed in the 202 body at most"
    )
    intake_concurrency: int = Field(
        default=1,
        gt=0,
        description=(
            "requests parsed and validated at once; the work is CPU-bound on one thread, so "
            "more only interleaves requests (all finish later) and holds more parsed events"
        ),
    )
    parse_piece_bytes: int = Field(
        default=512 * 1024,
        gt=0,
        description="large bodies are parsed in pieces this big, yielding to the loop between",
    )
    validation_chunk_events: int = Field(
        default=1_000,
        gt=0,
        description="events validated between two yields to the event loop",
    )

    @model_validator(mode="after")
    def _largest_body_fits_in_flight(self) -> Self:
        if self.max_in_flight_bytes < self.max_body_bytes:
            raise ValueError(
                f"MAX_IN_FLIGHT_BYTES ({self.max_in_flight_bytes}) must be at least "
                f"MAX_BODY_BYTES ({self.max_body_bytes}): a body the gateway takes must fit "
                "under the bound, or it would be refused 503 forever instead of 413 or 202"
            )
        return self
