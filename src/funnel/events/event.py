"""`Event`: any event the publisher may send, discriminated by `source`, then `funnelStage`.

The two-level discriminator makes the stage decide the allowed event types and the
engagement's shape, and lets pydantic pick the one model to try without guessing.
"""

from typing import Annotated, Final

from pydantic import Field, TypeAdapter, ValidationError

from funnel.events.errors import InvalidEventError, field_errors
from funnel.events.facebook import FacebookBottomEvent, FacebookTopEvent
from funnel.events.tiktok import TiktokBottomEvent, TiktokTopEvent

_FacebookByStage = Annotated[
    FacebookTopEvent | FacebookBottomEvent, Field(discriminator="funnel_stage")
]
_TiktokByStage = Annotated[TiktokTopEvent | TiktokBottomEvent, Field(discriminator="funnel_stage")]

Event = Annotated[_FacebookByStage | _TiktokByStage, Field(discriminator="source")]
"""A validated event: one of `FacebookTopEvent`, `FacebookBottomEvent`, `TiktokTopEvent`,
`TiktokBottomEvent` (so `isinstance(event, FacebookEvent)` narrows by source)."""

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)
"""Validates and serialises one `Event`; built once, at import."""


def validate_event(raw: object) -> Event:
    """Validate one parsed JSON value as an event; raise `InvalidEventError` when it is not."""
    try:
        return EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise InvalidEventError(field_errors(exc.errors(include_url=False))) from None
