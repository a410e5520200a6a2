"""Dead letters for the `funnel dlq` tests: valid and broken events, and letters of both kinds."""

import copy
import uuid
from typing import Any

import orjson

from funnel.events import Subjects, validate_events
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    GATEWAY_ORIGIN,
    DeadLetters,
    Delivery,
    JetStreamConnection,
    Publisher,
)
from funnel.observability import CORRELATION_HEADER


def facebook_event() -> dict[str, Any]:
    """A valid Facebook event as the publisher sends it."""
    return {
        "eventId": f"fb-{uuid.uuid4()}",
        "timestamp": "2026-11-25T10:00:00.123Z",
        "source": "facebook",
        "funnelStage": "top",
        "eventType": "ad.view",
        "data": {
            "user": {
                "userId": f"user-{uuid.uuid4().hex[:8]}",
                "name": "Olena Shevchenko",
                "age": 34,
                "gender": "female",
                "location": {"country": "Ukraine", "city": "Kyiv"},
            },
            "engagement": {
                "actionTime": "2026-11-25T10:00:01.000Z",
                "referrer": "newsfeed",
                "videoId": None,
            },
        },
    }


def tiktok_event() -> dict[str, Any]:
    """A valid TikTok event as the publisher sends it."""
    return {
        "eventId": f"ttk-{uuid.uuid4()}",
        "timestamp": "2026-11-25T10:00:00.500Z",
        "source": "tiktok",
        "funnelStage": "top",
        "eventType": "video.view",
        "data": {
            "user": {"userId": "user-1", "username": "ana", "followers": 1500},
            "engagement": {
                "watchTime": 12.5,
                "percentageWatched": 80,
                "device": "iOS",
                "country": "Brazil",
                "videoId": "vid-1",
            },
        },
    }


def broken(event: dict[str, Any]) -> dict[str, Any]:
    """The event with the publisher's `invalid-stage` corruption."""
    corrupted = copy.deepcopy(event)
    corrupted["funnelStage"] = "invalid-stage"
    return corrupted


async def reject(
    conn: JetStreamConnection, subjects: Subjects, events: list[Any], correlation_id: str
) -> None:
    """Dead-letter the invalid ones among `events`, as the gateway does."""
    validation = validate_events(events)
    letters = DeadLetters(Publisher(conn), subject=subjects.dlq_gateway, origin=GATEWAY_ORIGIN)
    await letters.reject(validation.rejected, correlation_id=correlation_id)


async def give_up(
    conn: JetStreamConnection, subjects: Subjects, events: list[Any], correlation_id: str
) -> bytes:
    """Dead-letter a batch as a collector does after max_deliver; returns the batch body."""
    body = orjson.dumps(events)
    delivery = Delivery(
        subject=subjects.events("facebook"),
        data=body,
        headers={CORRELATION_HEADER: correlation_id, EVENT_COUNT_HEADER: str(len(events))},
        num_delivered=5,
        stream_sequence=42,
    )
    letters = DeadLetters(
        Publisher(conn), subject=subjects.dlq("fb-collector"), origin="fb-collector"
    )
    await letters.give_up(delivery, "database is down")
    return body
