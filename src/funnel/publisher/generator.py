"""Publisher-like events, one at a time: every field drawn from a seeded `random.Random`.

The formats follow the upstream publisher (contract section 1): `fb-<uuid>` / `ttk-<uuid>`
ids, ISO-8601 UTC timestamps with milliseconds, full country names, 2-decimal purchase
amounts on transactional events only, nearly unique `userId` and `campaignId`, and an even
split between sources and between funnel stages. `EventPool` makes the same events fast.
"""

import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final, get_args

from funnel.events import (
    SOURCES,
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
from funnel.publisher.geography import CITIES, COUNTRIES

_ALNUM: Final = string.ascii_lowercase + string.digits
_FIRST_NAMES: Final = (
    "Olena", "Andrii", "Maria", "James", "Sofia", "Liam", "Aiko", "Mateo", "Amara", "Noah",
    "Chen", "Fatima", "Lucas", "Ingrid", "Ravi", "Elena", "Kwame", "Yuki", "Omar", "Clara",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Shevchenko", "Smith", "Garcia", "Kowalski", "Tanaka", "Muller", "Rossi", "Silva", "Khan",
    "Nguyen", "Okafor", "Johansson", "Dubois", "Petrova", "Kim", "Lopez", "Novak", "Ali",
)  # fmt: skip
_ITEMS: Final = (
    "wireless earbuds", "phone case", "lip gloss", "sneakers", "hoodie", "water bottle",
    "yoga mat", "sunglasses", "desk lamp", "backpack", "smart watch", "coffee grinder",
)  # fmt: skip
_STAGES: Final = ("top", "bottom")
_ID_PREFIX: Final[dict[Source, str]] = {"facebook": "fb", "tiktok": "ttk"}
# How long before the event its engagement's `actionTime` may lie.
_MAX_ACTION_LAG_SECONDS: Final = 3600


def format_timestamp(moment: datetime) -> str:
    """An aware datetime the way the publisher writes it: `2026-11-25T10:00:00.123Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def _alnum(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_ALNUM, k=length))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _action_time(rng: random.Random, now: datetime) -> str:
    return format_timestamp(now - timedelta(seconds=rng.uniform(0, _MAX_ACTION_LAG_SECONDS)))


def _facebook_data(rng: random.Random, stage: str, event_type: str, now: datetime) -> Any:
    country = rng.choice(COUNTRIES)
    user = {
        "userId": f"user-{_alnum(rng, 8)}",
        "name": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
        "age": rng.randint(18, 70),
        "gender": rng.choice(get_args(Gender)),
        "location": {"country": country, "city": rng.choice(CITIES[country])},
    }
    if stage == "top":
        engagement: dict[str, Any] = {
            "actionTime": _action_time(rng, now),
            "referrer": rng.choice(get_args(Referrer)),
            "videoId": f"vid-{_alnum(rng, 10)}" if rng.random() < 0.7 else None,
        }
    else:
        purchase = f"{rng.uniform(10, 1000):.2f}" if event_type == "checkout.complete" else None
        engagement = {
            "adId": f"ad-{_alnum(rng, 8)}",
            "campaignId": f"camp-{_alnum(rng, 5)}",
            "clickPosition": rng.choice(get_args(ClickPosition)),
            "device": rng.choice(get_args(FacebookDevice)),
            "browser": rng.choice(get_args(Browser)),
            "purchaseAmount": purchase,
        }
    return {"user": user, "engagement": engagement}


def _tiktok_data(rng: random.Random, stage: str, event_type: str, now: datetime) -> Any:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    user = {
        "userId": f"user-{_alnum(rng, 8)}",
        "username": f"{first.lower()}_{last.lower()}{rng.randint(1, 9999)}",
        "followers": rng.randint(0, 2_000_000),
    }
    if stage == "top":
        engagement: dict[str, Any] = {
            "watchTime": rng.randint(1, 600),
            "percentageWatched": rng.randint(0, 100),
            "device": rng.choice(get_args(TiktokDevice)),
            "country": rng.choice(COUNTRIES),
            "videoId": f"vid-{_alnum(rng, 10)}",
        }
    else:
        is_purchase = event_type == "purchase"
        engagement = {
            "actionTime": _action_time(rng, now),
            "profileId": f"profile-{_alnum(rng, 8)}" if rng.random() < 0.7 else None,
            "purchasedItem": rng.choice(_ITEMS) if is_purchase else None,
            "purchaseAmount": f"{rng.uniform(5, 500):.2f}" if is_purchase else None,
        }
    return {"user": user, "engagement": engagement}


def generate_event(
    rng: random.Random, source: Source | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """One valid publisher-like event as a JSON-ready dict; `source` None picks one 50/50."""
    picked: Source = rng.choice(SOURCES) if source is None else source
    now = now or datetime.now(UTC)
    stage = rng.choice(_STAGES)
    if picked == "facebook":
        types = get_args(FacebookTopEventType if stage == "top" else FacebookBottomEventType)
        event_type = rng.choice(types)
        data = _facebook_data(rng, stage, event_type, now)
    else:
        types = get_args(TiktokTopEventType if stage == "top" else TiktokBottomEventType)
        event_type = rng.choice(types)
        data = _tiktok_data(rng, stage, event_type, now)
    return {
        "eventId": f"{_ID_PREFIX[picked]}-{_uuid(rng)}",
        "timestamp": format_timestamp(now),
        "source": picked,
        "funnelStage": stage,
        "eventType": event_type,
        "data": data,
    }


def generate_batch(
    rng: random.Random, n: int, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """`n` independent publisher-like events (simple and exact; `EventPool` is the fast way)."""
    now = now or datetime.now(UTC)
    return [generate_event(rng, now=now) for _ in range(n)]
