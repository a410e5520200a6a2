"""What the reports mean: the concepts the summaries store and the reporter reads.

One home for each rule, so the write path (`funnel.db.summaries`, retention) and the report
API (`funnel.reporter`) can never disagree: which events are revenue, the grains of the
summary buckets, the age groups and follower tiers of the demographics, how long top lists
are, and how far apart two events of one user are still known as one user's.
"""

from datetime import timedelta
from typing import Final, Literal

from funnel.events.source import Source

Grain = Literal["second", "minute", "hour", "day"]

#: Grains of `event_counts` (counts, revenue), finest first.
EVENT_GRAINS: Final[tuple[Grain, ...]] = ("second", "minute", "hour", "day")
#: Grains of `audience_counts` and the city sketches (demographics), finest first.
AUDIENCE_GRAINS: Final[tuple[Grain, ...]] = ("minute", "hour")

#: The one event type per source whose `purchaseAmount` is revenue.
TRANSACTIONAL_EVENT_TYPES: Final[dict[Source, str]] = {
    "facebook": "checkout.complete",
    "tiktok": "purchase",
}


def is_transaction(alias: str) -> str:
    """SQL: whether the event row `alias` is a transaction (its amount is revenue)."""
    kinds = ", ".join(
        f"('{source}', '{kind}')" for source, kind in TRANSACTIONAL_EVENT_TYPES.items()
    )
    return (
        f"({alias}.purchase_amount IS NOT NULL"
        f" AND ({alias}.source, {alias}.event_type) IN ({kinds}))"
    )


#: The demographics report's age groups: (name, first age of the group), youngest first.
AGE_GROUPS: Final = (
    ("<18", 0),
    ("18-24", 18),
    ("25-34", 25),
    ("35-44", 35),
    ("45-54", 45),
    ("55-64", 55),
    ("65+", 65),
)

#: TikTok follower tiers: (name, fewest followers in it). Every limit is a bound of
#: `funnel_followers_bin`, so a bin's lower bound tells its tier.
FOLLOWER_TIERS: Final = (
    ("<1k", 0),
    ("1k-10k", 1_000),
    ("10k-100k", 10_000),
    ("100k-1M", 100_000),
    ("1M+", 1_000_000),
)

#: The name of a breakdown's bucket for users whose value is not known (no top-funnel
#: event in the range, for TikTok devices): every breakdown adds up to its total.
UNKNOWN: Final = "unknown"

#: Top lists (countries, cities, campaigns) hold this many entries.
TOP_SIZE: Final = 10

#: Pairs of (country, city) each bucket's sketch keeps.
CITY_SKETCH_SIZE: Final = 100

#: Two events of one user at most this far apart are known to be one user's
#: (`REPEAT_USER_WINDOW`'s default): demographics count every user once over any range no
#: longer than this. Finding them costs a probe of each partition the window overlaps, per
#: new event, so the window, not the history kept, sets that cost.
REPEAT_USER_WINDOW: Final = timedelta(hours=1)
