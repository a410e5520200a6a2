"""The emulator's events look like the upstream publisher's and are valid."""

import random
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from funnel.events import validate_events
from funnel.publisher import EventPool, format_timestamp, generate_batch, generate_event
from funnel.publisher.geography import CITIES

NOW = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _check_upstream_formats(events: list[dict[str, Any]]) -> None:
    for event in events:
        prefix, _, event_uuid = event["eventId"].partition("-")
        assert prefix == {"facebook": "fb", "tiktok": "ttk"}[event["source"]]
        assert uuid.UUID(event_uuid).version == 4
        assert str(uuid.UUID(event_uuid)) == event_uuid
        assert TIMESTAMP.fullmatch(event["timestamp"])
        user, engagement = event["data"]["user"], event["data"]["engagement"]
        if "actionTime" in engagement:
            assert TIMESTAMP.fullmatch(engagement["actionTime"])
        if "location" in user:
            assert user["location"]["city"] in CITIES[user["location"]["country"]]
            assert 18 <= user["age"] <= 70
        else:
            assert 0 <= user["followers"] <= 2_000_000
        amount = engagement.get("purchaseAmount")
        transactional = event["eventType"] in ("checkout.complete", "purchase")
        assert (amount is not None) == transactional
        if amount is not None:
            assert re.fullmatch(r"\d+\.\d{2}", amount)
            low, high = (10, 1000) if event["source"] == "facebook" else (5, 500)
            assert low <= Decimal(amount) <= high


def _share(events: list[dict[str, Any]], key: str) -> dict[str, float]:
    counts = Counter(event[key] for event in events)
    return {value: count / len(events) for value, count in counts.items()}


def test_generated_events_are_valid_and_in_the_upstream_formats() -> None:
    """`generate_batch` events validate and use the publisher's ids, times and amounts."""
    events = generate_batch(random.Random(1), 3000, now=NOW)
    assert validate_events(events).rejected == []
    _check_upstream_formats(events)
    assert {event["timestamp"] for event in events} == {"2026-11-25T10:00:00.123Z"}


def test_pooled_events_are_valid_and_in_the_upstream_formats() -> None:
    """`EventPool` batches validate and keep the same formats, with fresh ids per event."""
    events = EventPool(random.Random(2)).batch(20_000, now=NOW)
    assert validate_events(events).rejected == []
    _check_upstream_formats(events)
    assert len({event["eventId"] for event in events}) == 20_000
    user_ids = {event["data"]["user"]["userId"] for event in events}
    assert len(user_ids) > 19_900


@pytest.mark.parametrize("make", ["generate_batch", "EventPool"])
def test_sources_and_stages_split_evenly(make: str) -> None:
    """About half the events are Facebook and half top-funnel, as upstream."""
    rng = random.Random(3)
    if make == "generate_batch":
        events = generate_batch(rng, 4000, now=NOW)
    else:
        events = EventPool(rng).batch(4000, now=NOW)
    for key in ("source", "funnelStage"):
        assert all(0.45 < share < 0.55 for share in _share(events, key).values())


def test_a_facebook_top_video_id_is_sometimes_null() -> None:
    """Facebook top-funnel events carry a null `videoId` now and then."""
    rng = random.Random(4)
    events = [generate_event(rng, "facebook", now=NOW) for _ in range(400)]
    video_ids = [e["data"]["engagement"].get("videoId", "") for e in events]
    assert None in video_ids
    assert any(isinstance(video_id, str) and video_id for video_id in video_ids)


def test_campaign_ids_are_nearly_unique_per_event() -> None:
    """Facebook bottom-funnel events mostly have a `campaignId` of their own."""
    events = EventPool(random.Random(5)).batch(10_000, now=NOW)
    campaigns = [
        e["data"]["engagement"]["campaignId"]
        for e in events
        if "campaignId" in e["data"]["engagement"]
    ]
    assert len(campaigns) > 2000
    assert len(set(campaigns)) > 0.95 * len(campaigns)


def test_a_source_can_be_asked_for() -> None:
    """`generate_event(rng, source)` makes an event of that source only."""
    rng = random.Random(6)
    assert {generate_event(rng, "tiktok", now=NOW)["source"] for _ in range(50)} == {"tiktok"}


def test_the_same_seed_makes_the_same_events() -> None:
    """Events are a function of the seed (and the time given)."""
    assert generate_batch(random.Random(7), 50, now=NOW) == generate_batch(
        random.Random(7), 50, now=NOW
    )
    assert EventPool(random.Random(7)).batch(500, now=NOW) == EventPool(random.Random(7)).batch(
        500, now=NOW
    )
    assert EventPool(random.Random(7)).batch(50, now=NOW) != EventPool(random.Random(8)).batch(
        50, now=NOW
    )


def test_pooled_events_do_not_share_what_a_caller_may_change() -> None:
    """Changing one pooled event's user or engagement leaves the others alone."""
    pool = EventPool(random.Random(9), size=1)
    first, second = pool.batch(2, now=NOW)
    first["data"]["user"]["extra"] = 1
    first["data"]["engagement"]["extra"] = 1
    assert "extra" not in second["data"]["user"]
    assert "extra" not in second["data"]["engagement"]


def test_timestamps_are_utc_with_milliseconds() -> None:
    """The publisher's format: UTC, three decimals, a Z."""
    assert format_timestamp(NOW) == "2026-11-25T10:00:00.123Z"
    assert format_timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
