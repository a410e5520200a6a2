"""Every (source, funnel stage, event type) an event can have, from the wire schemas."""

from typing import Final, Literal, get_args

from funnel.events.facebook import FacebookBottomEventType, FacebookTopEventType
from funnel.events.source import FunnelStage, Source
from funnel.events.tiktok import TiktokBottomEventType, TiktokTopEventType

EventKind = tuple[Source, FunnelStage, str]

EVENT_KINDS: Final[tuple[EventKind, ...]] = (
    *(("facebook", "top", kind) for kind in get_args(FacebookTopEventType)),
    *(("facebook", "bottom", kind) for kind in get_args(FacebookBottomEventType)),
    *(("tiktok", "top", kind) for kind in get_args(TiktokTopEventType)),
    *(("tiktok", "bottom", kind) for kind in get_args(TiktokBottomEventType)),
)
EVENT_TYPES: Final[tuple[str, ...]] = tuple(sorted({kind for _, _, kind in EVENT_KINDS}))

Interval = Literal["minute", "hour", "day"]
INTERVALS: Final[tuple[Interval, ...]] = get_args(Interval)
