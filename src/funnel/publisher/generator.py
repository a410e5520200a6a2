"""Events as the upstream publisher makes them, every field drawn from a seeded `random.Random`.

Field by field what its `events.mjs` does with faker 9.5 (`Draws`): bare UUID `userId`s,
`fb-<uuid>` / `ttk-<uuid>` event ids, mixed-case `ad-`/`camp-`/`vid-`/`profile-` suffixes
(`videoId` only on Facebook `video.view` and on TikTok's top funnel, `profileId` only on
`profile.visit`, else null), faker's names, usernames, 249 countries and ~650,000 cities drawn
apart, age 18-65, followers 0-1,000,000, `watchTime` 1-300, prices whose last digit is mostly
9 or 5; an even split between sources, between funnel stages and between each stage's types.
"""

import random
from datetime import UTC, datetime, timedelta
from typing import Any, Final, get_args

from funnel.events import (
    Browser,
    ClickPosition,
    FacebookBottomEventType,
    FacebookDevice,
    FacebookTopEventType,
    Gender,
    Referrer,
    Source,
    TiktokBottomEventType,
    TiktokDevice,
    TiktokTopEventType,
)
from funnel.publisher.draws import Draws

# The publisher stamps each event with the clock as it makes it: one request's timestamps
# step through the ~12 us its code takes per event (1,209 distinct milliseconds in 100,000
# events of a real run).
_MICROSECONDS_PER_EVENT: Final = 12
# `actionTime` is read a few fields after `timestamp`; the clock moved on meanwhile in 0.9%
# of events, by one millisecond mostly, by up to 46 when a garbage collection fell between
# the two. Rows: lag range in ms, cumulative share per 100,000 (250,000 events of the
# publisher's own code).
_ACTION_LAGS: Final = ((0, 0, 99_137), (1, 1, 99_926), (2, 8, 99_991), (9, 46, 100_000))
_MAX_ACTION_LAG: Final = _ACTION_LAGS[-1][1]

_TYPES: Final[dict[tuple[Source, str], tuple[str, ...]]] = {
    ("facebook", "top"): get_args(FacebookTopEventType),
    ("facebook", "bottom"): get_args(FacebookBottomEventType),
    ("tiktok", "top"): get_args(TiktokTopEventType),
    ("tiktok", "bottom"): get_args(TiktokBottomEventType),
}


def _kinds(sources: tuple[Source, ...]) -> tuple[tuple[Source, str, str], ...]:
    """(source, stage, type) repeated so that one even pick is upstream's three: source and
    stage 50/50, then a type of that stage evenly (12 is a multiple of 4 and of 3)."""
    return tuple(
        (source, stage, event_type)
        for source in sources
        for stage in ("top", "bottom")
        for event_type in _TYPES[source, stage] * (12 // len(_TYPES[source, stage]))
    )


_KINDS: Final[dict[Source | None, tuple[tuple[Source, str, str], ...]]] = {
    None: _kinds(("facebook", "tiktok")),
    "facebook": _kinds(("facebook",)),
    "tiktok": _kinds(("tiktok",)),
}
_GENDERS: Final = get_args(Gender)
_REFERRERS: Final = get_args(Referrer)
_CLICK_POSITIONS: Final = get_args(ClickPosition)
_FACEBOOK_DEVICES: Final = get_args(FacebookDevice)
_BROWSERS: Final = get_args(Browser)
_TIKTOK_DEVICES: Final = get_args(TiktokDevice)


def format_timestamp(moment: datetime) -> str:
    """An aware datetime the way the publisher writes it: `2026-11-25T10:00:00.123Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


class _Maker:
    """Makes one event at a time; the caller gives the times, which depend on the clock."""

    __slots__ = ("_draws", "_random")

    def __init__(self, rng: random.Random) -> None:
        self._draws = Draws(rng)
        self._random = rng.random

    def action_lag(self) -> int:
        """Milliseconds from an event's `timestamp` to its `actionTime`."""
        share = self._random() * 100_000
        if share < _ACTION_LAGS[0][2]:
            return 0  # 99% of events: checked first, as it is the hot path
        for low, high, cumulative in _ACTION_LAGS[1:]:
            if share < cumulative:
                return low + int(self._random() * (high - low + 1))
        return _MAX_ACTION_LAG

    def event(self, source: Source | None, timestamp: str, action_time: str) -> dict[str, Any]:
        draws = self._draws
        picked, stage, event_type = draws.pick(_KINDS[source])
        if picked == "facebook":
            prefix, data = "fb-", self._facebook_data(stage, event_type, action_time)
        else:
            prefix, data = "ttk-", self._tiktok_data(stage, event_type, action_time)
        return {
            "eventId": prefix + draws.uuid(),
            "timestamp": timestamp,
            "source": picked,
            "funnelStage": stage,
            "eventType": event_type,
            "data": data,
        }

    def _facebook_data(self, stage: str, event_type: str, action_time: str) -> dict[str, Any]:
        draws = self._draws
        user = {
            "userId": draws.uuid(),
            "name": draws.full_name(),
            "age": draws.integer(18, 65),
            "gender": draws.pick(_GENDERS),
            "location": {"country": draws.country(), "city": draws.city()},
        }
        if stage == "top":
            engagement: dict[str, Any] = {
                "actionTime": action_time,
                "referrer": draws.pick(_REFERRERS),
                "videoId": "vid-" + draws.alphanumeric(8) if event_type == "video.view" else None,
            }
        else:
            engagement = {
                "adId": "ad-" + draws.alphanumeric(8),
                "campaignId": "camp-" + draws.alphanumeric(5),
                "clickPosition": draws.pick(_CLICK_POSITIONS),
                "device": draws.pick(_FACEBOOK_DEVICES),
                "browser": draws.pick(_BROWSERS),
                "purchaseAmount": (
                    draws.price(10, 1000) if event_type == "checkout.complete" else None
                ),
            }
        return {"user": user, "engagement": engagement}

    def _tiktok_data(self, stage: str, event_type: str, action_time: str) -> dict[str, Any]:
        draws = self._draws
        user = {
            "userId": draws.uuid(),
            "username": draws.username(),
            "followers": draws.integer(0, 1_000_000),
        }
        if stage == "top":
            engagement: dict[str, Any] = {
                "watchTime": draws.integer(1, 300),
                "percentageWatched": draws.integer(0, 100),
                "device": draws.pick(_TIKTOK_DEVICES),
                "country": draws.country(),
                "videoId": "vid-" + draws.alphanumeric(8),
            }
        else:
            purchase = event_type == "purchase"
            engagement = {
                "actionTime": action_time,
                "profileId": (
                    "profile-" + draws.alphanumeric(6) if event_type == "profile.visit" else None
                ),
                "purchasedItem": draws.product_name() if purchase else None,
                "purchaseAmount": draws.price(5, 500) if purchase else None,
            }
        return {"user": user, "engagement": engagement}


def generate_event(
    rng: random.Random, source: Source | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """One valid publisher event made at `now` (default: the current time) as a JSON-ready
    dict; `source` None picks one 50/50."""
    now = now or datetime.now(UTC)
    maker = _Maker(rng)
    timestamp = format_timestamp(now)
    lag = maker.action_lag()
    action_time = format_timestamp(now + timedelta(milliseconds=lag)) if lag else timestamp
    return maker.event(source, timestamp, action_time)


def generate_batch(
    rng: random.Random, n: int, source: Source | None = None, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """`n` events as one request of the publisher holds them: made one after another at its
    pace (~83 a millisecond), the last at `now` (default: the current time); `source` None
    picks each one's 50/50."""
    stamps, millis = request_stamps(n, now or datetime.now(UTC))
    maker = _Maker(rng)
    event, action_lag = maker.event, maker.action_lag
    return [event(source, stamps[ms], stamps[ms + action_lag()]) for ms in millis]


def request_stamps(n: int, now: datetime) -> tuple[list[str], list[int]]:
    """The clock of a request of `n` events made one after another at the publisher's pace,
    the last at `now`: each millisecond it spans formatted once (a request spans a few
    hundred), up to the longest `actionTime` lag past the last; and each event's index into
    them, in order. `actionTime` is `stamps[millis[i] + lag]`."""
    first = now - timedelta(microseconds=max(n - 1, 0) * _MICROSECONDS_PER_EVENT)
    offset = first.microsecond % 1000
    start = first - timedelta(microseconds=offset)
    span = (offset + max(n - 1, 0) * _MICROSECONDS_PER_EVENT) // 1000 + _MAX_ACTION_LAG
    stamps = [format_timestamp(start + timedelta(milliseconds=ms)) for ms in range(span + 1)]
    ends = offset + n * _MICROSECONDS_PER_EVENT
    return stamps, [at // 1000 for at in range(offset, ends, _MICROSECONDS_PER_EVENT)]
