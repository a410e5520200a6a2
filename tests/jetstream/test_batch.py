"""The one packer of JetStream messages, and the one limit every packing service keeps."""

import orjson
import pytest
from pydantic import ValidationError

from funnel.gateway import GatewaySettings
from funnel.jetstream import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, json_batches


def test_json_batches_split_by_count_and_by_bytes() -> None:
    """Items are packed in order into arrays within both limits; a giant item goes alone."""
    items = [{"n": n} for n in range(25)]
    by_count = list(json_batches(items, max_items=10))
    assert [len(batch.items) for batch in by_count] == [10, 10, 5]
    assert orjson.loads(by_count[2].payload) == items[20:]

    by_bytes = list(json_batches(items, max_bytes=40))
    assert all(len(batch.payload) <= 40 for batch in by_bytes)
    assert [item for batch in by_bytes for item in batch.items] == items
    assert [e for batch in by_bytes for e in orjson.loads(batch.payload)] == items

    giant = "x" * 100
    assert [len(b.items) for b in json_batches([items[0], giant, items[1]], max_bytes=50)] == [
        1,
        1,
        1,
    ]


def test_serialized_items_are_packed_as_they_are() -> None:
    """An item already serialized (an `orjson.Fragment`) is copied into the array unchanged."""
    fragments = [orjson.Fragment(b'{"kept": "as is"}'), orjson.Fragment(b"[1,2]")]
    [batch] = json_batches(fragments)
    assert batch.payload == b'[{"kept": "as is"},[1,2]]'


def test_the_default_limit_is_the_contracts() -> None:
    """1,000 events and 1 MB a message: the packer's defaults, and the most a gateway takes."""
    assert (MAX_BATCH_EVENTS, MAX_BATCH_BYTES) == (1_000, 1_000_000)
    items = [{"pad": "x" * 2_000}] * 1_500
    batches = list(json_batches(items))
    assert all(len(b.payload) <= MAX_BATCH_BYTES and len(b.items) <= 1_000 for b in batches)
    settings = GatewaySettings()
    assert (settings.batch_max_events, settings.batch_max_bytes) == (1_000, 1_000_000)
    with pytest.raises(ValidationError):
        GatewaySettings(batch_max_bytes=MAX_BATCH_BYTES + 1)
    with pytest.raises(ValidationError):
        GatewaySettings(batch_max_events=MAX_BATCH_EVENTS + 1)
