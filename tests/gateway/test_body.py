"""Decoding webhook bodies: an array's elements come out as their JSON texts, exactly."""

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.gateway.body import decode_elements
from funnel.gateway.errors import MalformedBodyError, TooLargeError

# Strings full of the bytes that separate elements, so the split must see through them.
_TRICKY_TEXT = st.text(alphabet='},{ "\\[]:\n\tab', max_size=12)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=4),
    max_leaves=12,
)
_ELEMENTS = st.lists(
    st.dictionaries(_TRICKY_TEXT, _JSON_VALUES, max_size=4) | _JSON_VALUES, max_size=25
)


def _values(elements: list[object]) -> list[object]:
    return [orjson.loads(e) if isinstance(e, bytes) else e for e in elements]


@settings(max_examples=300, deadline=None)
@given(elements=_ELEMENTS, indent=st.sampled_from([None, 1]))
def test_an_array_splits_into_the_texts_of_its_elements(
    elements: list[Any], indent: int | None
) -> None:
    """Whatever the elements hold (separators in strings, nesting, whitespace), each text
    is one element, in order."""
    body = json.dumps(elements, indent=indent).encode()

    decoded = decode_elements(body, 10**6)

    assert all(isinstance(element, bytes) for element in decoded)
    assert _values(decoded) == orjson.loads(body)


def test_a_publisher_body_splits_into_its_events(events_50k: list[dict[str, Any]]) -> None:
    """The publisher's compact array: each text is the event as sent, byte for byte."""
    events = events_50k[:5_000]
    body = orjson.dumps(events)

    decoded = decode_elements(bytearray(body), 10**6)

    assert decoded == [orjson.dumps(event) for event in events]


def test_one_object_is_one_element() -> None:
    """A body holding a single event is an array of that one event."""
    assert decode_elements(b' {"a": 1} ', 10) == [{"a": 1}]


def test_valid_json_the_split_refuses_is_parsed_instead() -> None:
    """A lone surrogate and a number past a double are valid JSON: the body is parsed, and
    only those elements turn into what validation will reject."""
    body = b'[{"a": "\\ud800"}, {"b": 1e400}, {"c": 1}]'

    decoded = decode_elements(body, 10)

    assert decoded[1:] == [{"b": float("inf")}, {"c": 1}]
    assert isinstance(decoded[0], str)
    assert decoded[0].startswith("not representable as JSON")


@pytest.mark.parametrize(
    "body", [b'[{"a":1},{"b":2},{"c":3}', b'[{"a":1},{"b":2}]]', b'[{"a":1},{"b":2}] x', b"7"]
)
def test_anything_else_is_malformed(body: bytes) -> None:
    """A body that is not an array or an object of JSON is refused."""
    with pytest.raises(MalformedBodyError):
        decode_elements(body, 10)


def test_too_many_events_are_refused() -> None:
    """Past `max_events` the body is refused with 413."""
    body = orjson.dumps([{"n": n} for n in range(1_000)])

    with pytest.raises(TooLargeError):
        decode_elements(body, 50)
