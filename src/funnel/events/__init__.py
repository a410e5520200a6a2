"""What flows through Funnel: the wire schemas of the publisher's events, their validation,
and the stream and subject names they travel on.

Wire names are camelCase (`funnelStage`), Python names snake_case (`funnel_stage`). Validate
an array with `validate_events` and one object with `validate_event`; `RULES_ID` names the
rules they apply.
"""

from funnel.events.errors import FieldError, InvalidEventError
from funnel.events.event import EVENT_ADAPTER, Event, validate_event
from funnel.events.facebook import (
    Browser,
    ClickPosition,
    FacebookBottomData,
    FacebookBottomEvent,
    FacebookBottomEventType,
    FacebookData,
    FacebookDevice,
    FacebookEngagement,
    FacebookEngagementBottom,
    FacebookEngagementTop,
    FacebookEvent,
    FacebookEventType,
    FacebookTopData,
    FacebookTopEvent,
    FacebookTopEventType,
    FacebookUser,
    FacebookUserLocation,
    Gender,
    Referrer,
)
from funnel.events.rules import RULES_ID
from funnel.events.source import COLLECTOR_NAMES, SOURCES, FunnelStage, Source
from funnel.events.subjects import Subjects
from funnel.events.tiktok import (
    TiktokBottomData,
    TiktokBottomEvent,
    TiktokBottomEventType,
    TiktokData,
    TiktokDevice,
    TiktokEngagement,
    TiktokEngagementBottom,
    TiktokEngagementTop,
    TiktokEvent,
    TiktokEventType,
    TiktokTopData,
    TiktokTopEvent,
    TiktokTopEventType,
    TiktokUser,
)
from funnel.events.validation import (
    Rejected,
    Validation,
    ValidEvent,
    trust_events,
    validate_events,
)
from funnel.events.wire import EventEnvelope, WireModel, parse_timestamp

__all__ = [
    "COLLECTOR_NAMES",
    "EVENT_ADAPTER",
    "RULES_ID",
    "SOURCES",
    "Browser",
    "ClickPosition",
    "Event",
    "EventEnvelope",
    "FacebookBottomData",
    "FacebookBottomEvent",
    "FacebookBottomEventType",
    "FacebookData",
    "FacebookDevice",
    "FacebookEngagement",
    "FacebookEngagementBottom",
    "FacebookEngagementTop",
    "FacebookEvent",
    "FacebookEventType",
    "FacebookTopData",
    "FacebookTopEvent",
    "FacebookTopEventType",
    "FacebookUser",
    "FacebookUserLocation",
    "FieldError",
    "FunnelStage",
    "Gender",
    "InvalidEventError",
    "Referrer",
    "Rejected",
    "Source",
    "Subjects",
    "TiktokBottomData",
    "TiktokBottomEvent",
    "TiktokBottomEventType",
    "TiktokData",
    "TiktokDevice",
    "TiktokEngagement",
    "TiktokEngagementBottom",
    "TiktokEngagementTop",
    "TiktokEvent",
    "TiktokEventType",
    "TiktokTopData",
    "TiktokTopEvent",
    "TiktokTopEventType",
    "TiktokUser",
    "ValidEvent",
    "Validation",
    "WireModel",
    "parse_timestamp",
    "trust_events",
    "validate_event",
    "validate_events",
]
