"""From a validated event to the row `events` stores: the one place that maps the two.

`EventRow` lists the columns in table order, which is also the order `store_events` copies
them in; each field is already the Python type asyncpg encodes for its column.

The row is read from the event's wire form (the JSON object as it came), not from its
pydantic model: validation is strict (no coercion), so a valid wire object holds exactly the
model's values, and reading a few dict keys costs a tenth of building the model. The
collector therefore validates without building models and maps with `wire_row`.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple

import orjson

from funnel.events import Event


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


COLUMNS: Final[tuple[str, ...]] = EventRow._fields

# PostgreSQL text and jsonb cannot hold U+0000; JSON spells it as this escape.
_NUL_ESCAPE: Final = "\\u0000"


def _instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp).astimezone(UTC)


def wire_row(raw: Mapping[str, Any], correlation_id: str | None, received_at: datetime) -> EventRow:
    """The row of an event given as its wire object, which must have passed validation.

    Raises `UnstorableEventError` for the rare valid event PostgreSQL cannot hold.
    """
    payload = orjson.dumps(raw).decode()
    if _NUL_ESCAPE in payload:
        raise UnstorableEventError("a string contains the NUL character (\\u0000)")
    data = raw["data"]
    user = data["user"]
    engagement = data["engagement"]
    amount = engagement.get("purchaseAmount")
    purchase_amount = None if amount is None else Decimal(amount)
    if raw["source"] == "facebook":
        location = user["location"]
        return EventRow(
            raw["eventId"],
            _instant(raw["timestamp"]),
            received_at,
            "facebook",
            raw["funnelStage"],
            raw["eventType"],
            user["userId"],
            engagement.get("campaignId"),
            engagement.get("adId"),
            purchase_amount,
            user["age"],
            user["gender"],
            location["country"],
            location["city"],
            None,
            None,
            correlation_id,
            payload,
        )
    return EventRow(
        raw["eventId"],
        _instant(raw["timestamp"]),
        received_at,
        "tiktok",
        raw["funnelStage"],
        raw["eventType"],
        user["userId"],
        None,
        None,
        purchase_amount,
        None,
        None,
        # Only top-funnel engagement has a country (and a device).
        engagement.get("country"),
        None,
        user["followers"],
        engagement.get("device"),
        correlation_id,
        payload,
    )


def to_row(
    event: Event,
    raw: Mapping[str, Any],
    correlation_id: str | None,
    received_at: datetime,
) -> EventRow:
    """The row for `event`, whose wire form is `raw`; raises `UnstorableEventError`.

    `event` is the proof that `raw` is valid; the values are read from `raw` (see above).
    """
    if event.event_id != raw.get("eventId"):
        raise ValueError("raw is not the wire form of event")
    return wire_row(raw, correlation_id, received_at)
