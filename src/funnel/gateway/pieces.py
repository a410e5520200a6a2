"""Splitting the bytes of a large JSON array into smaller arrays holding the same elements.

orjson parses the publisher's 30 MB body in one call that holds the GIL for ~0.15 s (more
on a busy machine); parsed as pieces of a few hundred KB, with the event loop running
between them, health checks and other requests wait a few milliseconds at most.

A piece ends at a `}` followed by `,` and `{` (whitespace allowed): where one object element
may end and the next begin. Such a place can also lie inside a string or a nested value;
then a piece does not parse on its own, and the caller parses the whole body instead. When
every piece does parse as an array, their elements joined are exactly the whole array's:
`[A]` and `[B]` valid makes `[A,B]` valid with A's elements then B's, and JSON has one parse.
"""

import re
from typing import Final

_BETWEEN_OBJECTS: Final = re.compile(rb"\}[ \t\n\r]*,[ \t\n\r]*\{")
_WHITESPACE: Final = b" \t\n\r"  # JSON's whitespace: bytes.strip() would accept more


def array_pieces(body: bytes | bytearray, piece_bytes: int) -> list[bytes] | None:
    """`body` as JSON arrays of about `piece_bytes` each, to be parsed one by one.

    None when splitting is not worth it: the body is small, or not an array of objects.
    """
    if len(body) <= piece_bytes:
        return None
    start = len(body) - len(body.lstrip(_WHITESPACE))
    end = len(body.rstrip(_WHITESPACE)) - 1
    if end <= start or body[start] != ord("[") or body[end] != ord("]"):
        return None
    pieces: list[bytes] = []
    begin = start + 1
    while (gap := _BETWEEN_OBJECTS.search(body, begin + piece_bytes, end)) is not None:
        pieces.append(b"[" + body[begin : gap.start() + 1] + b"]")
        begin = gap.end() - 1
    pieces.append(b"[" + body[begin:end] + b"]")
    return pieces
