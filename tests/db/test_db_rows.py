"""Mapping validated events to rows."""

import random
import zlib

import pytest

from funnel.db.rows import (
    COLUMNS,
    EventRow,
    UnstorableEventError,
    event_key,
    raw_batch,
    to_row,
    unpack_batch,
)
from funnel.events import (
    Event,
    FacebookEngagementBottom,
    FacebookEvent,
    TiktokEngagementBottom,
    TiktokEngagementTop,
)
from funnel.events.validation import validate_events
from funnel.publisher import generate_batch
from tests.db.db_samples import facebook_event, tiktok_event


def test_columns_follow_the_table() -> None:
    """The row's fields are the `events` columns, in table order."""
    from funnel.db.tables import events

    assert tuple(column.name for column in events.columns) == COLUMNS


def test_facebook_top_event_has_no_transaction_columns() -> None:
    """A top-funnel Facebook event has no campaign, ad or amount, but its demographics."""
    [valid] = validate_events([facebook_event(stage="top")]).valid
    row = to_row(valid.event, valid.raw)
    assert (row.campaign_id, row.purchase_amount) == (None, None)
    assert (row.age, row.gender, row.country, row.city) == (34, "female", "Ukraine", "Kyiv")


def test_nul_character_in_a_column_is_refused() -> None:
    """An event PostgreSQL cannot hold (a NUL in a text column) is refused before the
    database; a NUL elsewhere only lives in the compressed raw batch, which holds any byte."""
    raw = tiktok_event()
    raw["data"]["user"]["userId"] = "bad\x00id"
    [valid] = validate_events([raw]).valid
    with pytest.raises(UnstorableEventError, match="NUL"):
        to_row(valid.event, valid.raw)
    elsewhere = tiktok_event()
    elsewhere["data"]["user"]["username"] = "bad\x00name"
    [valid] = validate_events([elsewhere]).valid
    assert to_row(valid.event, valid.raw).user_id


def test_wire_mapping_matches_the_models() -> None:
    """Every column read from the wire object equals what the validated model says."""
    raws = generate_batch(random.Random(5), 2_000)
    for number, valid in enumerate(validate_events(raws).valid):
        event = valid.event
        row = to_row(event, valid.raw, (7, number))
        assert (row.occurred_at, row.event_key) == (event.occurred_at, event_key(event.event_id))
        assert (row.batch_id, row.batch_index) == (7, number)
        assert (row.source, row.funnel_stage, row.event_type) == (
            event.source,
            event.funnel_stage,
            event.event_type,
        )
        assert row.user_id == event.data.user.user_id
        assert row == _expected(event, row)


def _expected(event: Event, row: EventRow) -> EventRow:
    """`row` with every source-specific column replaced by what the model says."""
    engagement = event.data.engagement
    if isinstance(event, FacebookEvent):
        user = event.data.user
        bottom = engagement if isinstance(engagement, FacebookEngagementBottom) else None
        return row._replace(
            age=user.age,
            gender=user.gender,
            country=user.location.country,
            city=user.location.city,
            campaign_id=bottom.campaign_id if bottom else None,
            purchase_amount=bottom.purchase if bottom else None,
            followers=None,
            device=None,
        )
    top = engagement if isinstance(engagement, TiktokEngagementTop) else None
    tiktok_bottom = engagement if isinstance(engagement, TiktokEngagementBottom) else None
    return row._replace(
        age=None,
        gender=None,
        city=None,
        campaign_id=None,
        followers=event.data.user.followers,
        device=top.device if top else None,
        country=top.country if top else None,
        purchase_amount=tiktok_bottom.purchase if tiktok_bottom else None,
    )


def test_a_batch_opens_to_its_message_whichever_way_it_was_compressed() -> None:
    """New batches are zstd; batches stored before it are zlib and must still open."""
    data = b"[" + b",".join(b'{"n":%d}' % n for n in range(1_000)) + b"]"
    batch = raw_batch(data)
    assert len(batch.events) < len(data) / 4
    assert unpack_batch(batch.events) == data
    assert unpack_batch(zlib.compress(data, 1)) == data
    assert raw_batch(data).batch_id == batch.batch_id  # the id is the content's, not the bytes'
