"""Reading a webhook body under a byte limit, and decoding it into a list of elements.

The limit is enforced before reading (from `Content-Length`) and again while the body
streams in, so an oversized upload is refused as soon as it crosses the limit instead of
after it has been buffered whole.
"""

import orjson
from starlette.requests import ClientDisconnect, Request

from funnel.gateway.errors import MalformedBodyError, TooLargeError, UploadAbandonedError
from funnel.gateway.metrics import UNKNOWN_SOURCE


async def read_body(request: Request, max_bytes: int) -> bytearray:
    """The whole request body; `TooLargeError` once it is known to exceed `max_bytes`,
    `UploadAbandonedError` if the client disconnects before the end."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise TooLargeError(f"body of {int(declared)} bytes exceeds the limit of {max_bytes}")
    # A bytearray grows in place and orjson reads it without a copy.
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise TooLargeError(f"body exceeds the limit of {max_bytes} bytes")
    except ClientDisconnect:
        raise UploadAbandonedError(
            f"client disconnected after {len(body)} bytes of the body"
        ) from None
    return body


def decode_elements(body: bytes | bytearray, max_events: int) -> list[object]:
    """The events of a body holding a JSON array of them or a single JSON object.

    Raises `MalformedBodyError` for anything else and `TooLargeError` past `max_events`.
    Parsing runs on the event loop: orjson holds the GIL for the whole call, so a worker
    thread would block the loop just as long (~0.1 s for the publisher's 30 MB) and add a
    hop to every request.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBodyError(f"body is not valid JSON: {exc}") from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        kind = "null" if document is None else type(document).__name__
        raise MalformedBodyError(f"body must be a JSON array of events or one event, not {kind}")
    if len(document) > max_events:
        raise TooLargeError(
            f"{len(document)} events exceed the limit of {max_events} per request",
            events={UNKNOWN_SOURCE: len(document)},
        )
    return document
