"""Facebook events, as the brief types them.

`FacebookEvent` holds what both funnel stages share; `FacebookTopEvent` and
`FacebookBottomEvent` narrow the stage, the event types it allows and the engagement's shape.
Validation always lands on one of the two (see `funnel.events.event.Event`).
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from funnel.events.source import FunnelStage
from funnel.events.wire import (
    SMALLINT_MAX,
    EventEnvelope,
    Key,
    Money,
    Timestamp,
    WireModel,
    parse_timestamp,
    to_decimal,
)

FacebookTopEventType = Literal["ad.view", "page.like", "comment", "video.view"]
FacebookBottomEventType = Literal["ad.click", "form.submission", "checkout.complete"]
FacebookEventType = Literal[FacebookTopEventType, FacebookBottomEventType]

Gender = Literal["male", "female", "non-binary"]
Referrer = Literal["newsfeed", "marketplace", "groups"]
ClickPosition = Literal["top_left", "bottom_right", "center"]
FacebookDevice = Literal["mobile", "desktop"]
Browser = Literal["Chrome", "Firefox", "Safari"]


class FacebookUserLocation(WireModel):
    country: Key
    city: Key


class FacebookUser(WireModel):
    user_id: Key
    name: str
    age: Annotated[int, Field(gt=0, le=SMALLINT_MAX)]
    gender: Gender
    location: FacebookUserLocation


class FacebookEngagementTop(WireModel):
    action_time: Timestamp
    referrer: Referrer
    video_id: str | None

    @property
    def action_at(self) -> datetime:
        """`actionTime` as an aware UTC datetime."""
        return parse_timestamp(self.action_time)


class FacebookEngagementBottom(WireModel):
    ad_id: Key
    campaign_id: Key
    click_position: ClickPosition
    device: FacebookDevice
    browser: Browser
    purchase_amount: Money | None

    @property
    def purchase(self) -> Decimal | None:
        """`purchaseAmount` as an exact Decimal, or None."""
        return to_decimal(self.purchase_amount)


FacebookEngagement = FacebookEngagementTop | FacebookEngagementBottom


class FacebookData(WireModel):
    user: FacebookUser
    engagement: FacebookEngagement


class FacebookTopData(FacebookData):
    engagement: FacebookEngagementTop


class FacebookBottomData(FacebookData):
    engagement: FacebookEngagementBottom


class FacebookEvent(EventEnvelope):
    source: Literal["facebook"]
    funnel_stage: FunnelStage
    event_type: FacebookEventType
    data: FacebookData


class FacebookTopEvent(FacebookEvent):
    funnel_stage: Literal["top"]
    event_type: FacebookTopEventType
    data: FacebookTopData


class FacebookBottomEvent(FacebookEvent):
    funnel_stage: Literal["bottom"]
    event_type: FacebookBottomEventType
    data: FacebookBottomData
