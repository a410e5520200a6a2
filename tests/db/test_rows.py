"""Mapping validated events to rows."""

from datetime import UTC, datetime

import pytest
from samples import facebook_event, tiktok_event

from funnel.db.rows import COLUMNS, UnstorableEventError, to_row
from funnel.events.validation import validate_events


def test_columns_follow_the_table() -> None:
    """The row's fields are the `events` columns, in table order."""
    from funnel.db.tables import events

    assert tuple(column.name for column in events.columns) == COLUMNS


def test_facebook_top_event_has_no_transaction_columns() -> None:
    """A top-funnel Facebook event has no campaign, ad or amount, but its demographics."""
    [valid] = validate_events([facebook_event(stage="top")]).valid
    row = to_row(valid.event, valid.raw, None, datetime.now(UTC))
    assert (row.campaign_id, row.ad_id, row.purchase_amount) == (None, None, None)
    assert (row.age, row.gender, row.country, row.city) == (34, "female", "Ukraine", "Kyiv")
    assert row.correlation_id is None


def test_nul_character_is_refused() -> None:
    """An event PostgreSQL cannot hold (a NUL in a string) is refused before the database."""
    raw = tiktok_event()
    raw["data"]["user"]["username"] = "bad\x00name"
    [valid] = validate_events([raw]).valid
    with pytest.raises(UnstorableEventError, match="NUL"):
        to_row(valid.event, valid.raw, None, datetime.now(UTC))
