"""A JSON array's elements as JSON texts, and the lenient parse of one JSON text.

Gateway and collector validate each element straight from its bytes (`validate_events`
takes `bytes` items as JSON texts) and pass valid ones on as the very bytes that came:
splitting an array costs a tenth of parsing it, and no event is ever written back out.
"""

import json
from typing import Final

import msgspec
import orjson

_ELEMENTS: Final = msgspec.json.Decoder(list[msgspec.Raw])


def split_array(data: bytes | bytearray) -> list[bytes] | None:
    """The JSON text of each element of the JSON array `data`, in order.

    None when `data` is not a JSON array, or holds something the strict split refuses (a
    lone surrogate escape, `NaN`, nesting past its depth limit): `parse_json` decides those.
    """
    try:
        return [bytes(element) for element in _ELEMENTS.decode(data)]
    except (msgspec.DecodeError, RecursionError):
        return None


def parse_json(data: bytes | bytearray) -> object:
    """The JSON value of `data`, as orjson reads it; `ValueError` if it is not JSON.

    orjson refuses numbers past a double (`1e400`) and lone surrogates in strings, which are
    valid JSON; the standard parser reads those (integers past 64 bits as floats, `1e400` as
    infinity: validation rejects both), and a value orjson could not write back is replaced
    by a note, which validation rejects too. So one odd element never costs its neighbours.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as refusal:
        try:
            document = json.loads(data, parse_int=_integer, parse_constant=_not_json)
        except (ValueError, RecursionError):
            raise ValueError(str(refusal)) from None
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
