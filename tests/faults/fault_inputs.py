"""Hypothesis strategies for what a webhook or a report may be sent: anything at all.

`json_values` reach huge and tiny numbers, long strings and nesting; `bad_events` are events
of the publisher's shape with one field replaced by such a value, or removed, or an unknown
field added; `raw_bodies` are bytes that may or may not be JSON at all.
"""

import json
import random
from typing import Any, Final

import orjson
from hypothesis import strategies as st

from funnel.publisher import generate_event

_MAX_DEPTH: Final = 200
CONTENT_TYPES: Final = (
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 8, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e308, -1e308, 5e-324, 1.7976931348623157e308])
    | st.text(max_size=40)
)
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth: int, inner: Any) -> Any:
    """`inner` inside `depth` arrays and objects, alternately."""
    value = inner
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


deep_values = st.builds(nested, st.integers(min_value=1, max_value=_MAX_DEPTH), json_values)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a member of a JSON object or array, depth first."""
    found: list[tuple[str | int, ...]] = []
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, member in items:
        found.append((*prefix, key))
        found.extend(_paths(member, (*prefix, key)))
    return found


@st.composite
def bad_events(draw: st.DrawFn) -> dict[str, Any]:
    """A publisher-like event with one member replaced, removed, or an unknown one added."""
    event = generate_event(random.Random(draw(st.integers(0, 2**32))))
    path = draw(st.sampled_from(_paths(event)))
    *parents, last = path
    holder: Any = event
    for key in parents:
        holder = holder[key]
    action = draw(st.sampled_from(("replace", "remove", "add")))
    if action == "remove" and isinstance(holder, dict):
        del holder[last]
    elif action == "add" and isinstance(holder, dict):
        holder[f"unknown-{draw(st.text(max_size=5))}"] = draw(json_values)
    else:
        holder[last] = draw(json_values | deep_values)
    return event


# Valid JSON that parsers find hard: numbers past a double or 64 bits, deep nesting.
EXTREME_ELEMENTS: Final = (
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"1" * 400,
    b"-" + b"9" * 30,
    b'{"eventId": "fb-x", "data": {"user": {"age": 1e400}}}',
    b'{"source": "tiktok", "data": {"user": {"followers": 184467440737095516160}}}',
    b"[" * _MAX_DEPTH + b"]" * _MAX_DEPTH,
    b'{"a":' * _MAX_DEPTH + b"1" + b"}" * _MAX_DEPTH,
    b'"\\ud800"',
)


def good_events(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [generate_event(rng) for _ in range(count)]


@st.composite
def raw_bodies(draw: st.DrawFn) -> bytes:
    """Bodies a webhook may receive: JSON of any shape, truncated JSON, bytes, text."""
    kind = draw(st.sampled_from(("json", "truncated", "deep", "bytes", "text", "numbers")))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "truncated":
        whole = orjson.dumps(good_events(draw(st.integers(0, 1000)), draw(st.integers(1, 5))))
        return whole[: draw(st.integers(0, len(whole) - 1))]
    if kind == "deep":
        depth = draw(st.integers(min_value=1, max_value=5000))
        return b"[" * depth + b"]" * draw(st.integers(min_value=0, max_value=depth))
    if kind == "numbers":
        number = draw(st.sampled_from(("1e400", "-1e400", "1" * 400, "NaN", "Infinity", "-0")))
        return f'[{{"eventId": "x", "age": {number}}}, {number}]'.encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    return draw(st.text(max_size=200)).encode()
