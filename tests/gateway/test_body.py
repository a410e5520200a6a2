"""Decoding webhook bodies: pieces of a large array parse to exactly the whole array."""

import asyncio
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.gateway.body import decode_elements
from funnel.gateway.errors import MalformedBodyError, TooLargeError
from funnel.gateway.pieces import array_pieces

# Strings full of the bytes a split looks for, so splits land inside them too.
_TRICKY_TEXT = st.text(alphabet='},{ "\\[]:\n\tab', max_size=12)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=4),
    max_leaves=12,
)
_ELEMENTS = st.lists(
    st.dictionaries(_TRICKY_TEXT, _JSON_VALUES, max_size=4) | _JSON_VALUES, max_size=25
)


def _decode(body: bytes, piece_bytes: int, max_events: int = 10**6) -> list[object]:
    return asyncio.run(decode_elements(body, max_events, piece_bytes=piece_bytes))


@settings(max_examples=300, deadline=None)
@given(elements=_ELEMENTS, indent=st.sampled_from([None, 1]), piece_bytes=st.integers(1, 64))
def test_pieces_parse_to_the_whole_array(
    elements: list[Any], indent: int | None, piece_bytes: int
) -> None:
    """Wherever the splits land (strings, nested values, whitespace), the parse is the same."""
    body = json.dumps(elements, indent=indent).encode()

    assert _decode(body, piece_bytes) == orjson.loads(body)


def test_large_publisher_body_is_split_and_joined_exactly(
    events_50k: list[dict[str, Any]],
) -> None:
    """The publisher's compact array splits into many pieces whose elements are the events."""
    body = orjson.dumps(events_50k[:5_000])

    pieces = array_pieces(body, 64 * 1024)

    assert pieces is not None
    assert len(pieces) > 10
    assert [event for piece in pieces for event in orjson.loads(piece)] == events_50k[:5_000]
    assert _decode(body, 64 * 1024) == events_50k[:5_000]


@pytest.mark.parametrize(
    "body", [b'[{"a":1},{"b":2},{"c":3}', b'[{"a":1},{"b":2}]]', b'[{"a":1},{"b":2}] x']
)
def test_broken_array_is_malformed_even_when_its_pieces_parse(body: bytes) -> None:
    """A body that is not valid JSON as a whole is refused, whatever its pieces look like."""
    with pytest.raises(MalformedBodyError):
        _decode(body, 4)


def test_too_many_events_stop_the_parse_early() -> None:
    """Past `max_events` the body is refused with 413."""
    body = orjson.dumps([{"n": n} for n in range(1_000)])

    with pytest.raises(TooLargeError):
        _decode(body, 100, max_events=50)
