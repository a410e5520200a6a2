"""From a validated event to the row `events` stores: the one place that maps the two.

`EventRow` lists the columns in table order, which is also the order `store_events` copies
them in; each field is already the Python type asyncpg encodes for its column.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from funnel.events.facebook import FacebookEngagementBottom, FacebookEvent
from funnel.events.tiktok import TiktokEngagementBottom, TiktokEngagementTop, TiktokEvent


class UnstorableEventError(ValueError):
    """A valid event that PostgreSQL cannot hold as it is (a NUL character in a string)."""


class EventRow(NamedTuple):
    event_id: str
    occurred_at: datetime
    received_at: datetime
    source: str
    funnel_stage: str
    event_type: str
    user_id: str
    campaign_id: str | None
    ad_id: str | None
    purchase_amount: Decimal | None
    age: int | None
    gender: str | None
    country: str | None
    city: str | None
    followers: int | None
    device: str | None
    correlation_id: str | None
    payload: str


COLUMNS: tuple[str, ...] = EventRow._fields

# PostgreSQL text and jsonb cannot hold U+0000; JSON spells it as this escape.
_NUL_ESCAPE = "\\u0000"


def to_row(
    event: FacebookEvent | TiktokEvent,
    raw: Mapping[str, Any],
    correlation_id: str | None,
    received_at: datetime,
) -> EventRow:
    """The row for `event`, whose wire form is `raw`; raises `UnstorableEventError`."""
    payload = orjson.dumps(raw).decode()
    if _NUL_ESCAPE in payload:
        raise UnstorableEventError("a string contains the NUL character (\\u0000)")
    if isinstance(event, FacebookEvent):
        return _facebook_row(event, payload, correlation_id, received_at)
    return _tiktok_row(event, payload, correlation_id, received_at)


def _facebook_row(
    event: FacebookEvent, payload: str, correlation_id: str | None, received_at: datetime
) -> EventRow:
    user = event.data.user
    engagement = event.data.engagement
    bottom = engagement if isinstance(engagement, FacebookEngagementBottom) else None
    return EventRow(
        event.event_id,
        event.occurred_at,
        received_at,
        event.source,
        event.funnel_stage,
        event.event_type,
        user.user_id,
        bottom.campaign_id if bottom else None,
        bottom.ad_id if bottom else None,
        bottom.purchase if bottom else None,
        user.age,
        user.gender,
        user.location.country,
        user.location.city,
        None,
        None,
        correlation_id,
        payload,
    )


def _tiktok_row(
    event: TiktokEvent, payload: str, correlation_id: str | None, received_at: datetime
) -> EventRow:
    engagement = event.data.engagement
    top = engagement if isinstance(engagement, TiktokEngagementTop) else None
    bottom = engagement if isinstance(engagement, TiktokEngagementBottom) else None
    return EventRow(
        event.event_id,
        event.occurred_at,
        received_at,
        event.source,
        event.funnel_stage,
        event.event_type,
        event.data.user.user_id,
        None,
        None,
        bottom.purchase if bottom else None,
        None,
        None,
        top.country if top else None,
        None,
        event.data.user.followers,
        top.device if top else None,
        correlation_id,
        payload,
    )
