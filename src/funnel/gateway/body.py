"""Reading a webhook body under a byte limit, and decoding it into a list of elements.

The limit is enforced before reading (from `Content-Length`) and again while the body
streams in, so an oversized upload is refused as soon as it crosses the limit instead of
after it has been buffered whole. The bytes read are held in the gateway's in-flight bound
(`in_flight.py`) as they arrive; the size limit is checked first, so a body over it is 413,
never 503.
"""

import asyncio
import json

import orjson
from starlette.requests import ClientDisconnect, Request

from funnel.gateway.errors import MalformedBodyError, TooLargeError, UploadAbandonedError
from funnel.gateway.in_flight import BodyHold
from funnel.gateway.metrics import UNKNOWN_SOURCE
from funnel.gateway.pieces import array_pieces


def declared_length(request: Request, max_bytes: int) -> int | None:
    """The body's `Content-Length`, None when it sends none; `TooLargeError` past
    `max_bytes`, before a byte of the body is read."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        return None
    if int(declared) > max_bytes:
        raise TooLargeError(f"body of {int(declared)} bytes exceeds the limit of {max_bytes}")
    return int(declared)


async def read_body(request: Request, max_bytes: int, hold: BodyHold) -> bytearray:
    """The whole request body, its bytes held in `hold` as they arrive; `TooLargeError`
    once it is known to exceed `max_bytes`, `OverloadedError` once holding it would pass the
    in-flight bound, `UploadAbandonedError` if the client disconnects before the end."""
    # A bytearray grows in place and orjson reads it without a copy.
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise TooLargeError(f"body exceeds the limit of {max_bytes} bytes")
            hold.grow_to(len(body))
    except ClientDisconnect:
        raise UploadAbandonedError(
            f"client disconnected after {len(body)} bytes of the body"
        ) from None
    return body


async def decode_elements(
    body: bytes | bytearray, max_events: int, *, piece_bytes: int
) -> list[object]:
    """The events of a body holding a JSON array of them or a single JSON object.

    Raises `MalformedBodyError` for anything else and `TooLargeError` past `max_events`.
    A large array is parsed in pieces with the event loop running between them (see
    `pieces.py`): orjson holds the GIL, so a worker thread would block the loop as long.
    """
    pieces = array_pieces(body, piece_bytes)
    elements = None if pieces is None else await _parse_pieces(pieces, max_events)
    if elements is None:
        elements = _parse_whole(body)
    if len(elements) > max_events:
        raise TooLargeError(
            f"{len(elements)} events exceed the limit of {max_events} per request",
            events={UNKNOWN_SOURCE: len(elements)},
        )
    return elements


async def _parse_pieces(pieces: list[bytes], max_events: int) -> list[object] | None:
    """The pieces' elements joined; None if one does not parse (the whole body decides)."""
    elements: list[object] = []
    for number, piece in enumerate(pieces):
        if number:
            await asyncio.sleep(0)
        try:
            elements.extend(orjson.loads(piece))
        except orjson.JSONDecodeError:
            return None
        if len(elements) > max_events:
            # Enough to refuse: parsing the rest would only spend memory on a 413.
            break
    return elements


def _parse_whole(body: bytes | bytearray) -> list[object]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        document = _parse_in_python(body, exc)
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        kind = "null" if document is None else type(document).__name__
        raise MalformedBodyError(f"body must be a JSON array of events or one event, not {kind}")
    return document


def _parse_in_python(body: bytes | bytearray, refusal: orjson.JSONDecodeError) -> object:
    """The body as the standard parser reads it, for valid JSON that orjson refuses.

    orjson refuses numbers past a double (`1e400`) and lone surrogates in strings, so one such
    element would cost its request's good events. Numbers are read as orjson reads them
    (integers past 64 bits as floats; `1e400` as infinity, which validation rejects), and an
    element orjson could not write back is replaced by a note, which validation rejects too.
    """
    try:
        document = json.loads(body, parse_int=_integer, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise MalformedBodyError(f"body is not valid JSON: {refusal}") from None
    if isinstance(document, list):
        return [_writable(element) for element in document]
    return _writable(document)


def _integer(text: str) -> int | float:
    # Past 20 digits it cannot fit: a float (infinity past a double), never a huge int.
    if len(text) <= 20 and -(2**63) <= (value := int(text)) < 2**64:
        return value
    return float(text)


def _not_json(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _writable(element: object) -> object:
    try:
        orjson.dumps(element)
    except orjson.JSONEncodeError as exc:
        return f"not representable as JSON: {exc}"
    return element
