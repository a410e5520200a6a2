"""Funnel's wrapper over nats-py: connection, stream and consumer declarations, `Publisher`,
`PullConsumer`, dead letters, and one error tree. Nothing else in Funnel imports nats-py; the
modules here reach it through `JetStreamConnection`'s public methods.
"""

from funnel.jetstream.answering import NotAnsweringError
from funnel.jetstream.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, JsonBatch, json_batches
from funnel.jetstream.connection import ConnectionState, JetStreamConnection
from funnel.jetstream.consumer import ConsumerState, PullConsumer
from funnel.jetstream.deadletter import GATEWAY_ORIGIN, DeadLetterKind, DeadLetters, Rejection
from funnel.jetstream.declare import declare_configured_streams, declare_streams
from funnel.jetstream.durable import (
    ConsumerStatus,
    check_consumer,
    consumer_info,
    ensure_consumer,
)
from funnel.jetstream.errors import (
    ConnectionClosedError,
    ConsumerNotFoundError,
    JetStreamError,
    MessageNotFoundError,
    NoRespondersError,
    NotConnectedError,
    PublishError,
    RequestTimeoutError,
    ServerRejectedError,
    StreamFullError,
    StreamNotFoundError,
    TransientError,
)
from funnel.jetstream.handler import BatchHandler, ConsumerObserver
from funnel.jetstream.message import (
    EVENT_COUNT_HEADER,
    MSG_ID_HEADER,
    VALIDATED_HEADER,
    Delivery,
    Failed,
    OutboundMessage,
)
from funnel.jetstream.periodic import periodically
from funnel.jetstream.publisher import Publisher
from funnel.jetstream.stored import StoredMessage, delete_message, get_message, read_messages
from funnel.jetstream.stored_letter import DeadLetter, read_dead_letter
from funnel.jetstream.stream import (
    StreamConfig,
    StreamStatus,
    check_stream,
    dead_letter_stream,
    delete_stream,
    ensure_stream,
    events_stream,
    stream_exists,
    stream_status,
)

__all__ = [
    "EVENT_COUNT_HEADER",
    "GATEWAY_ORIGIN",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MSG_ID_HEADER",
    "VALIDATED_HEADER",
    "BatchHandler",
    "ConnectionClosedError",
    "ConnectionState",
    "ConsumerNotFoundError",
    "ConsumerObserver",
    "ConsumerState",
    "ConsumerStatus",
    "DeadLetter",
    "DeadLetterKind",
    "DeadLetters",
    "Delivery",
    "Failed",
    "JetStreamConnection",
    "JetStreamError",
    "JsonBatch",
    "MessageNotFoundError",
    "NoRespondersError",
    "NotAnsweringError",
    "NotConnectedError",
    "OutboundMessage",
    "PublishError",
    "Publisher",
    "PullConsumer",
    "Rejection",
    "RequestTimeoutError",
    "ServerRejectedError",
    "StoredMessage",
    "StreamConfig",
    "StreamFullError",
    "StreamNotFoundError",
    "StreamStatus",
    "TransientError",
    "check_consumer",
    "check_stream",
    "consumer_info",
    "dead_letter_stream",
    "declare_configured_streams",
    "declare_streams",
    "delete_message",
    "delete_stream",
    "ensure_consumer",
    "ensure_stream",
    "events_stream",
    "get_message",
    "json_batches",
    "periodically",
    "read_dead_letter",
    "read_messages",
    "stream_exists",
    "stream_status",
]
