"""TikTok events, as the brief types them.

`TiktokEvent` holds what both funnel stages share; `TiktokTopEvent` and `TiktokBottomEvent`
narrow the stage, the event types it allows and the engagement's shape. Validation always
lands on one of the two (see `funnel.events.event.Event`).
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from funnel.events.source import FunnelStage
from funnel.events.wire import (
    INT64_MAX,
    EventEnvelope,
    Key,
    Money,
    Timestamp,
    WireModel,
    parse_timestamp,
    to_decimal,
)

TiktokTopEventType = Literal["video.view", "like", "share", "comment"]
TiktokBottomEventType = Literal["profile.visit", "purchase", "follow"]
TiktokEventType = Literal[TiktokTopEventType, TiktokBottomEventType]

TiktokDevice = Literal["Android", "iOS", "Desktop"]


class TiktokUser(WireModel):
    user_id: Key
    username: str
    followers: Annotated[int, Field(ge=0, le=INT64_MAX)]


class TiktokEngagementTop(WireModel):
    watch_time: Annotated[float, Field(ge=0)]
    percentage_watched: Annotated[float, Field(ge=0, le=100)]
    device: TiktokDevice
    country: Key
    video_id: str


class TiktokEngagementBottom(WireModel):
    action_time: Timestamp
    profile_id: str | None
    purchased_item: str | None
    purchase_amount: Money | None

    @property
    def action_at(self) -> datetime:
        """`actionTime` as an aware UTC datetime."""
        return parse_timestamp(self.action_time)

    @property
    def purchase(self) -> Decimal | None:
        """`purchaseAmount` as an exact Decimal, or None."""
        return to_decimal(self.purchase_amount)


TiktokEngagement = TiktokEngagementTop | TiktokEngagementBottom


class TiktokData(WireModel):
    user: TiktokUser
    engagement: TiktokEngagement


class TiktokTopData(TiktokData):
    engagement: TiktokEngagementTop


class TiktokBottomData(TiktokData):
    engagement: TiktokEngagementBottom


class TiktokEvent(EventEnvelope):
    source: Literal["tiktok"]
    funnel_stage: FunnelStage
    event_type: TiktokEventType
    data: TiktokData


class TiktokTopEvent(TiktokEvent):
    funnel_stage: Literal["top"]
    event_type: TiktokTopEventType
    data: TiktokTopData


class TiktokBottomEvent(TiktokEvent):
    funnel_stage: Literal["bottom"]
    event_type: TiktokBottomEventType
    data: TiktokBottomData
