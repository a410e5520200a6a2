"""Why a webhook request was refused: one small tree, turned into HTTP answers in `webhook.py`.

Each error knows its status code, the metric `reason` its events are counted under (also the
answer's `reason` field), how many events of which source it cost, and when a client may try
again (`Retry-After`), so the handler translates every refusal the same way.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from funnel.gateway.metrics import UNKNOWN_SOURCE


class WebhookError(Exception):
    """A webhook request that is answered with an error instead of 202."""

    status_code: ClassVar[int] = 500
    reason: ClassVar[str] = "internal"
    # Seconds for the `Retry-After` header of a refusal that passes; None sends none.
    retry_after: ClassVar[int | None] = None
    # False for a refusal that comes in floods while a state lasts: the state's changes are
    # logged instead of every refusal.
    logged: ClassVar[bool] = True

    def __init__(self, message: str, *, events: Mapping[str, int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The events the refusal cost, by source; a request whose events cannot be counted
        # counts as one event of unknown source.
        self.events: Mapping[str, int] = {UNKNOWN_SOURCE: 1} if events is None else events

    def body(self) -> dict[str, Any]:
        """The JSON answer's fields; subclasses add what a client needs to decide on a retry."""
        return {"error": self.message}


class MalformedBodyError(WebhookError):
    """The body is not JSON, or neither an array nor an object: 400."""

    status_code = 400
    reason = "bad_json"


class TooLargeError(WebhookError):
    """The body has more bytes or more events than the gateway takes in one request: 413."""

    status_code = 413
    reason = "too_large"


class UploadAbandonedError(WebhookError):
    """The client went away before sending the whole body; the answer reaches no one."""

    status_code = 499  # no standard code exists; this is the one proxies log for it
    reason = "client_disconnected"


class ShuttingDownError(WebhookError):
    """The gateway is draining and takes no new work: 503, to be retried on another replica."""

    status_code = 503
    reason = "shutting_down"


class StoreUnavailableError(WebhookError):
    """JetStream did not acknowledge every message of the request: 503.

    Some messages may already be stored; a retry of the same body with the same
    `X-Correlation-ID` reuses the same message ids, so JetStream drops what it already has.
    """

    status_code = 503
    reason = "publish"

    def __init__(
        self,
        message: str,
        *,
        events: Mapping[str, int] | None = None,
        messages: int = 0,
        stored: int = 0,
    ) -> None:
        super().__init__(message, events=events)
        self.messages = messages
        self.stored = stored

    def body(self) -> dict[str, Any]:
        return {
            "error": self.message,
            "messages": self.messages,
            "storedMessages": self.stored,
            "partiallyStored": self.stored > 0,
            "retry": "safe with the same body and the same X-Correlation-ID header",
        }


class StreamFullError(StoreUnavailableError):
    """`EVENTS` is at `STREAM_MAX_BYTES` (the collectors are that far behind) and refuses new
    batches: 503 rather than the stream deleting batches it acknowledged."""

    reason = "stream_full"
    # The collectors free the stream at their pace; sooner would only meet another refusal.
    retry_after = 5


class StreamStillFullError(StreamFullError):
    """Refused before the body is read: `EVENTS` had no room at the last look, so the request
    could not be stored. The stream filling and getting room again are logged, not each of
    these refusals."""

    logged = False


class OverloadedError(WebhookError):
    """Taking the body would put more than `MAX_IN_FLIGHT_BYTES` of webhook bodies in the
    gateway's memory at once: 503, before the body is read (or as soon as a body of unknown
    length crosses the bound)."""

    status_code = 503
    reason = "overloaded"
    # The requests holding the bytes end within about a second at the publisher's pace.
    retry_after = 1
