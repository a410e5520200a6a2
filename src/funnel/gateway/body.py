"""Reading a webhook body under a byte limit, and decoding it into a list of elements.

The limit is enforced before reading (from `Content-Length`) and again while the body
streams in, so an oversized upload is refused as soon as it crosses the limit instead of
after it has been buffered whole.
"""

from starlette.requests import ClientDisconnect, Request

from funnel.events.elements import parse_json, split_array
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

    An array is split into its elements' JSON texts (`bytes` items, see `split_array`),
    which validation reads directly: ~20 ms for the publisher's 30 MB, so the event loop
    does not wait long. A body the split refuses is parsed whole. Raises
    `MalformedBodyError` for a body that is neither, `TooLargeError` past `max_events`.
    """
    texts = split_array(body)
    elements: list[object] = _parse_whole(body) if texts is None else list(texts)
    if len(elements) > max_events:
        raise TooLargeError(
            f"{len(elements)} events exceed the limit of {max_events} per request",
            events={UNKNOWN_SOURCE: len(elements)},
        )
    return elements


def _parse_whole(body: bytes | bytearray) -> list[object]:
    try:
        document = parse_json(body)
    except ValueError as exc:
        raise MalformedBodyError(f"body is not valid JSON: {exc}") from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        kind = "null" if document is None else type(document).__name__
        raise MalformedBodyError(f"body must be a JSON array of events or one event, not {kind}")
    return document
