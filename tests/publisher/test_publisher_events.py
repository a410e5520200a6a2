"""The emulator's events have the upstream publisher's shapes: what its code draws with faker
9.5, and what 100,000 events of a real run of it showed (cardinalities, formats, null rules,
ranges, per-event timestamps, corruptions)."""

import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from funnel.events import validate_events
from funnel.publisher import draw_request, format_timestamp, generate_batch, generate_event

NOW = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
WORD = r"[A-Z][A-Za-z']+"
NAME = re.compile(
    rf"(?:(?:Dr\.|Miss|Mr\.|Mrs\.|Ms\.) )?{WORD} {WORD}(?:-{WORD})?"
    r"(?: (?:Jr\.|Sr\.|I|II|III|IV|V|MD|DDS|PhD|DVM))?"
)
USERNAME = re.compile(r"[A-Z][A-Za-z]+(?:[._][A-Z][A-Za-z]+(?:-[A-Z][A-Za-z]+)?\d{0,2}|\d{1,2})")
IDS = {
    "adId": re.compile(r"ad-[A-Za-z0-9]{8}"),
    "campaignId": re.compile(r"camp-[A-Za-z0-9]{5}"),
    "videoId": re.compile(r"vid-[A-Za-z0-9]{8}"),
    "profileId": re.compile(r"profile-[A-Za-z0-9]{6}"),
}
# What 100,000 events of the publisher's own code held (cities: 34,700 and 34,921 in two runs).
REAL_CITIES = 34_700
REAL_TIMESTAMPS = 1_209
SAMPLE = 100_000


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    """100,000 events in requests of 1,000..50,000 made a second apart, as the emulator sends."""
    rng = random.Random(18)
    events: list[dict[str, Any]] = []
    second = 0
    while len(events) < SAMPLE:
        second += 1
        now = NOW + timedelta(seconds=second)
        events += generate_batch(rng, rng.randint(1000, 50_000), now=now)
    return events[:SAMPLE]


def _of(events: list[dict[str, Any]], source: str, stage: str | None = None) -> list[Any]:
    return [e for e in events if e["source"] == source and stage in (None, e["funnelStage"])]


def test_every_event_is_valid(sample: list[dict[str, Any]]) -> None:
    """All 100,000 pass the gateway's validation."""
    assert validate_events(sample).rejected == []


def test_sources_stages_and_types_split_evenly(sample: list[dict[str, Any]]) -> None:
    """Half Facebook, half top funnel in each source, each stage's types alike."""
    assert 0.49 < len(_of(sample, "facebook")) / SAMPLE < 0.51
    for source in ("facebook", "tiktok"):
        events = _of(sample, source)
        top = len(_of(events, source, "top"))
        assert 0.49 < top / len(events) < 0.51
        for stage in ("top", "bottom"):
            types = Counter(e["eventType"] for e in _of(events, source, stage))
            assert max(types.values()) / min(types.values()) < 1.1, types


def test_ids_are_uuids_and_mixed_case_suffixes(sample: list[dict[str, Any]]) -> None:
    """`fb-`/`ttk-` + UUID event ids, bare UUID user ids, mixed-case 8/5/8/6-character ids."""
    suffixes: list[str] = []
    for event in sample:
        prefix = {"facebook": "fb", "tiktok": "ttk"}[event["source"]]
        assert re.fullmatch(rf"{prefix}-{UUID}", event["eventId"])
        assert re.fullmatch(UUID, event["data"]["user"]["userId"])
        for key, pattern in IDS.items():
            value = event["data"]["engagement"].get(key)
            if value is not None:
                assert pattern.fullmatch(value), value
                suffixes.append(value.partition("-")[2])
    letters = "".join(suffixes)
    assert 0.45 < sum(c.isupper() for c in letters) / sum(c.isalpha() for c in letters) < 0.55
    assert len({e["data"]["user"]["userId"] for e in sample}) == SAMPLE
    assert len({e["eventId"] for e in sample}) == SAMPLE


def test_nulls_follow_the_event_type(sample: list[dict[str, Any]]) -> None:
    """`videoId` only on Facebook `video.view` (always on TikTok top), `profileId` only on
    `profile.visit`, `purchasedItem` and amounts only on the purchases."""
    for event in sample:
        engagement, event_type = event["data"]["engagement"], event["eventType"]
        if event["source"] == "facebook":
            if event["funnelStage"] == "top":
                assert (engagement["videoId"] is None) == (event_type != "video.view")
            else:
                amount = engagement["purchaseAmount"]
                assert (amount is None) == (event_type != "checkout.complete")
        elif event["funnelStage"] == "top":
            assert engagement["videoId"] is not None
        else:
            assert (engagement["profileId"] is None) == (event_type != "profile.visit")
            assert (engagement["purchasedItem"] is None) == (event_type != "purchase")
            assert (engagement["purchaseAmount"] is None) == (event_type != "purchase")


def test_numbers_stay_in_the_publishers_ranges(sample: list[dict[str, Any]]) -> None:
    """Age 18-65, followers 0-1,000,000, watchTime 1-300, percentageWatched 0-100, amounts
    10-1000 (Facebook) and 5-500 (TikTok) with faker's favourite last digits 9 and 5."""
    facebook, tiktok = _of(sample, "facebook"), _of(sample, "tiktok")
    ages = {e["data"]["user"]["age"] for e in facebook}
    assert ages == set(range(18, 66))
    followers = [e["data"]["user"]["followers"] for e in tiktok]
    assert 0 <= min(followers) < 10_000
    assert 990_000 < max(followers) <= 1_000_000
    top = [e["data"]["engagement"] for e in _of(sample, "tiktok", "top")]
    assert {e["watchTime"] for e in top} == set(range(1, 301))
    assert {e["percentageWatched"] for e in top} == set(range(101))
    last_digits: Counter[str] = Counter()
    for events, (low, high) in ((facebook, (10, 1000)), (tiktok, (5, 500))):
        for event in events:
            amount = event["data"]["engagement"].get("purchaseAmount")
            if amount is not None:
                assert re.fullmatch(r"\d+\.\d{2}", amount)
                assert low <= Decimal(amount) <= high
                last_digits[amount[-1]] += 1
    total = last_digits.total()
    assert 0.48 < last_digits["9"] / total < 0.53
    assert 0.28 < last_digits["5"] / total < 0.33
    assert 0.09 < last_digits["0"] / total < 0.12


def test_places_are_faker_countries_and_cities_drawn_apart(sample: list[dict[str, Any]]) -> None:
    """249 countries (commas and all), ~34,700 distinct cities per 100,000 events, and a city
    seen several times lands in a different country nearly every time."""
    facebook = _of(sample, "facebook")
    places = [e["data"]["user"]["location"] for e in facebook]
    countries = {place["country"] for place in places}
    assert len(countries) == 249
    assert "Bonaire, Sint Eustatius and Saba" in countries
    assert max(len(country) for country in countries) == 51
    tiktok_countries = {e["data"]["engagement"]["country"] for e in _of(sample, "tiktok", "top")}
    assert tiktok_countries == countries
    cities = Counter(place["city"] for place in places)
    assert abs(len(cities) - REAL_CITIES) < 0.03 * REAL_CITIES, len(cities)
    countries_of: defaultdict[str, set[str]] = defaultdict(set)
    for place in places:
        countries_of[place["city"]].add(place["country"])
    frequent = [city for city, seen in cities.items() if seen >= 8]
    assert len(frequent) > 500
    spread = sum(len(countries_of[city]) for city in frequent) / sum(cities[c] for c in frequent)
    assert spread > 0.9


def test_names_and_usernames_are_fakers(sample: list[dict[str, Any]]) -> None:
    """Full names with titles, suffixes and double last names now and then; usernames like
    "Ed.Bernhard", "Richard_Hackett57", "Ed57"; nearly all distinct."""
    names = [e["data"]["user"]["name"] for e in _of(sample, "facebook")]
    for name in names:
        assert NAME.fullmatch(name), name
    marked = sum(bool(re.search(r"[.-]", name)) for name in names) / len(names)
    assert 0.16 < marked < 0.19  # 17.6% in the publisher's run
    assert len(set(names)) > 0.95 * len(names)
    usernames = [e["data"]["user"]["username"] for e in _of(sample, "tiktok")]
    for username in usernames:
        assert USERNAME.fullmatch(username), username
    assert len(set(usernames)) > 0.97 * len(usernames)
    shapes = Counter(
        "number only" if re.fullmatch(r"[A-Za-z]+\d+", u) else "with last name" for u in usernames
    )
    assert 0.31 < shapes["number only"] / len(usernames) < 0.35


def test_timestamps_step_through_a_request(sample: list[dict[str, Any]]) -> None:
    """Each event has the time it was made: ~83 events a millisecond, so 100,000 events have
    ~1,209 distinct timestamps; `actionTime` follows its `timestamp` by at most 46 ms."""
    events = generate_batch(random.Random(1), 50_000, now=NOW)
    stamps = [e["timestamp"] for e in events]
    assert all(TIMESTAMP.fullmatch(stamp) for stamp in stamps)
    assert stamps == sorted(stamps)
    assert stamps[-1] == format_timestamp(NOW)
    assert 550 <= len(set(stamps)) <= 650
    distinct = len({e["timestamp"] for e in sample})
    assert abs(distinct - REAL_TIMESTAMPS) < 0.1 * REAL_TIMESTAMPS, distinct
    lags: Counter[float] = Counter()
    for event in sample:
        action_time = event["data"]["engagement"].get("actionTime")
        if action_time is not None:
            assert TIMESTAMP.fullmatch(action_time)
            lag = datetime.fromisoformat(action_time) - datetime.fromisoformat(event["timestamp"])
            lags[lag / timedelta(milliseconds=1)] += 1
    assert min(lags) == 0
    assert max(lags) <= 46
    assert lags[0] / lags.total() > 0.985


def test_drawn_requests_end_with_upstreams_corruptions() -> None:
    """`draw_request` appends upstream's corruptions: every kind by both corrupt functions,
    the changed ones rejected, the unchanged ones (~10%) accepted."""
    rng = random.Random(7)
    paths: set[str] = set()
    unchanged = 0
    for _ in range(1000):
        drawn = draw_request(rng, 1, corrupt_ratio=1.0, now=NOW)
        assert drawn.corrupted
        validation = validate_events(drawn.events)
        if drawn.unchanged:
            unchanged += 1
            assert len(validation.valid) == 2
        else:
            (rejected,) = validation.rejected
            assert rejected.index == 1
            paths |= {error.path for error in rejected.errors}
    assert 60 < unchanged < 150
    assert paths == {
        "timestamp",
        "eventId",
        "data.user.name",
        "data.user.username",
        "data.user",
        "funnelStage",
        "eventType",
        "data.engagement.actionTime",
        "data.engagement.watchTime",
        "data.engagement.adId",
        "data.engagement.purchasedItem",
        "data.user.gender",
        "data.user.followers",
    }


def test_requests_carry_a_corrupted_event_at_the_configured_ratio() -> None:
    """`corrupt_ratio` 0 never appends one, 1 always does."""
    rng = random.Random(8)
    assert not draw_request(rng, 5, corrupt_ratio=0.0).corrupted
    assert len(draw_request(rng, 5, corrupt_ratio=1.0).events) == 6


def test_a_source_can_be_asked_for() -> None:
    """`generate_event` and `generate_batch` make events of the source asked for only."""
    rng = random.Random(6)
    assert {generate_event(rng, "tiktok", now=NOW)["source"] for _ in range(50)} == {"tiktok"}
    assert {e["source"] for e in generate_batch(rng, 500, "facebook", now=NOW)} == {"facebook"}


def test_the_same_seed_makes_the_same_events() -> None:
    """Events are a function of the seed (and the time given)."""
    assert generate_batch(random.Random(7), 500, now=NOW) == generate_batch(
        random.Random(7), 500, now=NOW
    )
    assert generate_batch(random.Random(7), 50, now=NOW) != generate_batch(
        random.Random(8), 50, now=NOW
    )


def test_timestamps_are_utc_with_milliseconds() -> None:
    """The publisher's format: UTC, three decimals, a Z."""
    assert format_timestamp(NOW) == "2026-11-25T10:00:00.123Z"
    assert format_timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
