"""From a validated event to the row `events` stores: the one place that maps the two.

`EventRow` lists the columns in table order, which is also the order `store_events` copies
them in; each field is already the Python type asyncpg encodes for its column.

The row is read from the event's verdict (its values as validated: strict, so exactly the
model's, at a tenth of the cost of building the model), and its payload is the event's JSON
text as it came.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Final, NamedTuple

from funnel.events import ValidEvent


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

# PostgreSQL text and jsonb cannot hold U+0000; JSON can only spell it as this escape.
_NUL_ESCAPE: Final = b"\\u0000"


def _instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp).astimezone(UTC)


def wire_row(event: ValidEvent, correlation_id: str | None, received_at: datetime) -> EventRow:
    """The row of a valid event; `UnstorableEventError` for the rare one PostgreSQL cannot hold."""
    payload = event.json
    if _NUL_ESCAPE in payload:
        raise UnstorableEventError("a string contains the NUL character (\\u0000)")
    verdict = event.verdict
    data = verdict["data"]
    user = data["user"]
    engagement = data["engagement"]
    amount = engagement.get("purchase_amount")
    purchase_amount = None if amount is None else Decimal(amount)
    if verdict["source"] == "facebook":
        location = user["location"]
        return EventRow(
            verdict["event_id"],
            _instant(verdict["timestamp"]),
            received_at,
            "facebook",
            verdict["funnel_stage"],
            verdict["event_type"],
            user["user_id"],
            engagement.get("campaign_id"),
            engagement.get("ad_id"),
            purchase_amount,
            user["age"],
            user["gender"],
            location["country"],
            location["city"],
            None,
            None,
            correlation_id,
            payload.decode(),
        )
    return EventRow(
        verdict["event_id"],
        _instant(verdict["timestamp"]),
        received_at,
        "tiktok",
        verdict["funnel_stage"],
        verdict["event_type"],
        user["user_id"],
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
        payload.decode(),
    )
