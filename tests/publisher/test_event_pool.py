"""The soak's event pool sends the emulator's events again under fresh ids and times."""

import random
from datetime import UTC, datetime, timedelta

import orjson
from bench.event_pool import EventPool

from funnel.db import event_key
from funnel.events import validate_events


def test_requests_are_valid_fresh_and_stamped_now() -> None:
    pool = EventPool(random.Random(7), size=500)  # smaller than a run: templates come round
    now = datetime(2026, 12, 6, 12, 0, 0, 500_000, tzinfo=UTC)
    requests = [pool.body(400, corrupt_ratio=0.0, samples=5, now=now) for _ in range(5)]
    events = [event for body, _ in requests for event in orjson.loads(body)]

    assert len(events) == 2_000
    assert not validate_events(events).rejected
    assert len({event["eventId"] for event in events}) == 2_000
    assert len({event["data"]["user"]["userId"] for event in events}) == 2_000
    campaigns = [e["data"]["engagement"].get("campaignId") for e in events]
    named = [campaign for campaign in campaigns if campaign is not None]
    assert named
    assert len(set(named)) == len(named)
    stamps = [datetime.fromisoformat(event["timestamp"]) for event in events]
    assert max(stamps) <= now
    assert min(stamps) >= now - timedelta(milliseconds=10)
    for event in events:
        action = event["data"]["engagement"].get("actionTime")
        if action is not None:
            lag = datetime.fromisoformat(action) - datetime.fromisoformat(event["timestamp"])
            assert timedelta(0) <= lag <= timedelta(milliseconds=46)
    by_key = {event_key(event["eventId"]): event for event in events}
    for _, picked in requests:
        assert len(picked) == 5
        for stamp, key, source in picked:
            assert by_key[key]["source"] == source
            assert datetime.fromisoformat(by_key[key]["timestamp"]) == stamp


def test_a_corrupted_event_follows_when_drawn() -> None:
    """As upstream's: one more event, corrupted (which, 5 times in 48, leaves it valid)."""
    pool = EventPool(random.Random(8), size=100)
    rejected = 0
    for _ in range(20):
        events = orjson.loads(pool.body(50, corrupt_ratio=1.0, samples=0)[0])
        assert len(events) == 51
        assert not validate_events(events[:50]).rejected
        rejected += len(validate_events(events[50:]).rejected)
    assert rejected >= 10
