"""The errors `funnel.jetstream` raises, and the one place nats-py's errors become them.

    JetStreamError
    ├── NotConnectedError        no usable connection right now (never opened, reconnecting)
    │   └── ConnectionClosedError    used after close: a bug, never retried
    ├── RequestTimeoutError      the server did not answer in time
    ├── NoRespondersError        nothing (no stream, no JetStream) listens on the subject
    ├── StreamNotFoundError
    ├── ConsumerNotFoundError
    ├── MessageNotFoundError     no message at that stream sequence (never stored, or deleted)
    ├── ServerRejectedError      JetStream answered with an API error (code, err_code)
    │   └── StreamFullError          the stream is at its byte bound and refuses new messages
    ├── PublishError             the Publisher's verdict: some messages were not acknowledged
    └── TransientError           raised by a batch handler: "retry these later"

Code outside this package catches these, never nats-py's own exceptions.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import nats.errors
import nats.js.errors

# JetStream API error codes (nats-server `server/errors.json`).
_STREAM_NOT_FOUND: Final = 10059
_CONSUMER_NOT_FOUND: Final = 10014
_MESSAGE_NOT_FOUND: Final = 10037
_STORE_FAILED: Final = 10077  # with "maximum bytes exceeded": a discard-new stream is full


class JetStreamError(Exception):
    """Base of every error raised by `funnel.jetstream`; the message is a human reason."""


class NotConnectedError(JetStreamError):
    """The connection cannot carry requests right now (not opened yet, or reconnecting)."""


class ConnectionClosedError(NotConnectedError):
    """The connection was used after it was closed or drained."""


class RequestTimeoutError(JetStreamError):
    """The server did not answer a request in time; the request may or may not have landed."""


class NoRespondersError(JetStreamError):
    """Nothing listens on the subject: the stream (or JetStream itself) is missing."""


class StreamNotFoundError(JetStreamError):
    """The named stream does not exist."""


class ConsumerNotFoundError(JetStreamError):
    """The named durable consumer does not exist on its stream."""


class MessageNotFoundError(JetStreamError):
    """No message is stored at that sequence of the stream."""


class ServerRejectedError(JetStreamError):
    """JetStream refused the request; `code` is the HTTP-like status, `err_code` its own."""

    def __init__(self, message: str, *, code: int | None, err_code: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.err_code = err_code


class StreamFullError(ServerRejectedError):
    """The stream holds its `max_bytes` and refuses new messages until some are consumed."""


class PublishError(JetStreamError):
    """JetStream did not take the data: `failed` of `total` messages were not acknowledged;
    `full` when a stream at its byte bound refused any of them."""

    def __init__(self, message: str, *, failed: int, total: int, full: bool = False) -> None:
        super().__init__(message)
        self.failed = failed
        self.total = total
        self.full = full


class TransientError(JetStreamError):
    """Raised by a batch handler when the batch may succeed later (database down, ...)."""


def translate(exc: BaseException, action: str) -> JetStreamError:
    """The `JetStreamError` for an exception nats-py raised while doing `action`."""
    if isinstance(exc, JetStreamError):
        return exc
    if isinstance(exc, nats.js.errors.APIError):
        return _translate_api_error(exc, action)
    if isinstance(exc, nats.js.errors.NoStreamResponseError | nats.errors.NoRespondersError):
        return NoRespondersError(f"{action}: no stream or JetStream listens on the subject")
    if isinstance(exc, TimeoutError):  # nats.errors.TimeoutError is one too
        return RequestTimeoutError(f"{action}: no answer from the server in time")
    if isinstance(exc, nats.errors.ConnectionClosedError):
        return ConnectionClosedError(f"{action}: the connection is closed")
    if isinstance(
        exc,
        nats.errors.ConnectionReconnectingError
        | nats.errors.OutboundBufferLimitError
        | nats.errors.StaleConnectionError
        | nats.errors.ConnectionDrainingError
        | ConnectionError,
    ):
        return NotConnectedError(f"{action}: not connected to NATS ({_describe(exc)})")
    if isinstance(exc, RuntimeError):
        # nats-py flushes inline when its flusher has died with the connection, before it
        # notices the loss; uvloop refuses a write to the closed transport with RuntimeError.
        return NotConnectedError(f"{action}: the connection to NATS was lost ({_describe(exc)})")
    return JetStreamError(f"{action}: {_describe(exc)}")


def _translate_api_error(exc: nats.js.errors.APIError, action: str) -> JetStreamError:
    description = exc.description or type(exc).__name__
    if exc.err_code == _STREAM_NOT_FOUND:
        return StreamNotFoundError(f"{action}: {description}")
    if exc.err_code == _CONSUMER_NOT_FOUND:
        return ConsumerNotFoundError(f"{action}: {description}")
    if exc.err_code == _MESSAGE_NOT_FOUND:
        return MessageNotFoundError(f"{action}: {description}")
    if isinstance(exc, nats.js.errors.ServiceUnavailableError) and exc.code is None:
        # nats-py raises a bare 503 when nothing answered the API request.
        return NoRespondersError(
            f"{action}: no JetStream responder (stream or consumer missing, or JetStream down)"
        )
    rejected = (
        StreamFullError
        if exc.err_code == _STORE_FAILED and "maximum bytes" in description
        else ServerRejectedError
    )
    return rejected(
        f"{action}: {description} (code {exc.code}, err_code {exc.err_code})",
        code=exc.code,
        err_code=exc.err_code,
    )


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Re-raise nats-py errors (and timeouts) inside the block as `JetStreamError`s."""
    try:
        yield
    except JetStreamError:
        raise
    except (TimeoutError, nats.errors.Error, ConnectionError, RuntimeError) as exc:
        raise translate(exc, action) from exc
