"""The wire's conventions, shared by every event model.

camelCase on the wire and snake_case in Python, strict types (no `"42"` for `42`), no unknown
fields, and the two string formats the brief leaves implicit: ISO-8601 timestamps and decimal
money. Timestamps stay the strings the publisher sent (so a stored raw event is byte-for-byte
what came in); properties expose the parsed instant.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# Integer columns are 16-bit (`age`, a `smallint`) and 64-bit (`followers`); a larger number is
# no real value and would only fail later, in a database batch, far from the request that sent it.
SMALLINT_MAX: Final = 2**15 - 1
INT64_MAX: Final = 2**63 - 1

# At most 12 integer digits and 2 decimals: exact in `numeric(14, 2)` and summed exactly.
_MONEY: Final = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")


class WireModel(BaseModel):
    """Base of every wire model: camelCase aliases, strict types, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        serialize_by_alias=True,
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
    )


def parse_timestamp(value: str) -> datetime:
    """The instant an ISO-8601 timestamp with a UTC offset names, as an aware UTC datetime."""
    return datetime.fromisoformat(value).astimezone(UTC)


def _check_timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "timestamp_format",
            "Input should be an ISO-8601 timestamp like 2026-11-25T10:00:00.123Z",
        ) from None
    if moment.utcoffset() is None:
        # Without an offset the string names no instant: each reader would guess a zone.
        raise PydanticCustomError(
            "timestamp_offset",
            "Input should be an ISO-8601 timestamp with a UTC offset or Z, "
            "like 2026-11-25T10:00:00.123Z",
        )
    # 9999-12-31T23:30:00-01:00 parses, but names an instant past year 9999 in UTC; only the
    # first and last years can, so only they pay for the conversion (~0.1 us a timestamp).
    if moment.year in (1, 9999):
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise PydanticCustomError(
                "timestamp_range", "Input should be a timestamp within the years 1 to 9999 in UTC"
            ) from None
    return value


def _check_money(value: str) -> str:
    if _MONEY.fullmatch(value) is None:
        raise PydanticCustomError(
            "money_format",
            'Input should be a decimal string like "12.34" (at most 2 decimal places)',
        )
    return value


Timestamp = Annotated[str, AfterValidator(_check_timestamp)]
"""An ISO-8601 timestamp string with a UTC offset, kept as sent."""

Money = Annotated[str, AfterValidator(_check_money)]
"""A non-negative decimal amount as a string, like `"12.34"`, kept as sent."""

# Ids and place names are B-tree keys (the primary key, the revenue indexes, the audience
# summary), and PostgreSQL refuses a key past ~2,700 bytes: far past any real id or name,
# but a longer one would fail its whole batch in the collector instead of its own request.
KEY_MAX_LENGTH: Final = 256

Key = Annotated[str, Field(max_length=KEY_MAX_LENGTH)]
"""An id or a place name: at most `KEY_MAX_LENGTH` characters."""

EventId = Annotated[str, Field(min_length=1, max_length=KEY_MAX_LENGTH)]
"""The publisher's id of an event (`fb-<uuid>`, `ttk-<uuid>`): what makes storing idempotent."""


def to_decimal(amount: str | None) -> Decimal | None:
    """A validated `Money` string as an exact `Decimal`, or None."""
    return None if amount is None else Decimal(amount)


class EventEnvelope(WireModel):
    """The fields every event has, whatever its source and funnel stage."""

    event_id: EventId
    timestamp: Timestamp

    @property
    def occurred_at(self) -> datetime:
        """`timestamp` as an aware UTC datetime."""
        return parse_timestamp(self.timestamp)
