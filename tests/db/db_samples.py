"""Events in the wire format, and the rows the collector makes of them, for storage tests."""

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from funnel.db.rows import EventRow, RawBatch, raw_batch, to_row
from funnel.events.validation import validate_events


def facebook_event(*, stage: str = "bottom", amount: str | None = "12.34") -> dict[str, Any]:
    """A valid Facebook event as the publisher sends it."""
    engagement: dict[str, Any]
    if stage == "bottom":
        engagement = {
            "adId": "ad-7",
            "campaignId": "camp-ab12c",
            "clickPosition": "center",
            "device": "mobile",
            "browser": "Chrome",
            "purchaseAmount": amount,
        }
    else:
        engagement = {
            "actionTime": "2026-11-25T10:00:01.000Z",
            "referrer": "newsfeed",
            "videoId": None,
        }
    return {
        "eventId": f"fb-{uuid.uuid4()}",
        "timestamp": "2026-11-25T10:00:00.123Z",
        "source": "facebook",
        "funnelStage": stage,
        "eventType": "checkout.complete" if stage == "bottom" else "ad.view",
        "data": {
            "user": {
                "userId": f"user-{uuid.uuid4().hex[:8]}",
                "name": "Olena Shevchenko",
                "age": 34,
                "gender": "female",
                "location": {"country": "Ukraine", "city": "Kyiv"},
            },
            "engagement": engagement,
        },
    }


def tiktok_event(*, stage: str = "top", amount: str | None = None) -> dict[str, Any]:
    """A valid TikTok event as the publisher sends it."""
    engagement: dict[str, Any]
    if stage == "top":
        engagement = {
            "watchTime": 12.5,
            "percentageWatched": 80,
            "device": "iOS",
            "country": "Brazil",
            "videoId": "vid-1",
        }
    else:
        engagement = {
            "actionTime": "2026-11-25T10:00:02.000Z",
            "profileId": None,
            "purchasedItem": "item-9" if amount else None,
            "purchaseAmount": amount,
        }
    return {
        "eventId": f"ttk-{uuid.uuid4()}",
        "timestamp": "2026-11-25T10:00:00.500+00:00",
        "source": "tiktok",
        "funnelStage": stage,
        "eventType": "video.view" if stage == "top" else "purchase",
        "data": {
            "user": {
                "userId": f"user-{uuid.uuid4().hex[:8]}",
                "username": "ana",
                "followers": 1500,
            },
            "engagement": engagement,
        },
    }


def rows_of(raws: list[dict[str, Any]], correlation_id: str | None = "corr-1") -> list[EventRow]:
    """The rows the collector would store for these wire events, as one message."""
    return batch_of(raws, correlation_id)[0]


def batch_of(
    raws: list[dict[str, Any]], correlation_id: str | None = "corr-1"
) -> tuple[list[EventRow], RawBatch]:
    """The rows the collector would store for these wire events sent as one message, and the
    message's raw batch."""
    validation = validate_events(raws)
    assert validation.rejected == []
    batch = raw_batch(orjson.dumps(raws), correlation_id, datetime.now(UTC))
    rows = [
        to_row(valid.event, valid.raw, (batch.batch_id, valid.index)) for valid in validation.valid
    ]
    return rows, batch
