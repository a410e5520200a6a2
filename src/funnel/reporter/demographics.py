"""`/reports/demographics`: distinct users per source, described by their latest event.

Exact without grouping a range's events by user: summary rows count every event's facts
(gender, age group, country, follower bin, device). Users with more than one event are
few, and `repeat_events` holds all their events: for those with several in the range, the
per-event facts are taken back out and the facts of their latest event (latest top-funnel
event for TikTok's device and country) put in once. Exact follower order statistics (min,
median, max) find each wanted rank's bin, then its fine bin, from summaries, and read only
those fine bins' follower counts. Top cities come from each bucket's sketch
(`funnel.db.summaries`): the answer gives the bound on their error, 0 when exact.

The report reads raw rows (repeat users, follower ranks), so it covers the longest part of
the asked range whose raw events are all retained, and says so in `coverage`. Users are
known as repeat users only among events at most REPEAT_USER_WINDOW apart: over a longer range
the answer says its user counts may count a user more than once (`usersExact`).
"""

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, get_args

import asyncpg

from funnel.events.facebook import Gender
from funnel.events.source import SOURCES, Source
from funnel.events.tiktok import TiktokDevice
from funnel.reporter import queries
from funnel.reporter.coverage import coverage, plan, raw_range, read_retained
from funnel.reporter.followers import FollowerRanks, Moved, follower_stats
from funnel.reporter.models import (
    CityUsers,
    CountryUsers,
    DemographicsFilters,
    DemographicsReport,
    FacebookAudience,
    TiktokAudience,
)
from funnel.reporter.params import DemographicsQuery
from funnel.reporter.ranges import OPEN_END, OPEN_START, Piece
from funnel.reporter.wire import iso
from funnel.reporting import (
    AGE_GROUPS,
    AUDIENCE_GRAINS,
    FOLLOWER_TIERS,
    TOP_SIZE,
    UNKNOWN,
)

# (dimension, value, detail) as in `funnel.db.summaries.audience_facts`.
Fact = tuple[str, str, str]
_ALL: Final[Fact] = ("all", "", "")
# TikTok's device and country describe a user by their latest top-funnel event.
_TOP_FUNNEL: Final = frozenset({"device", "country"})


def _group_of(value: int, groups: Sequence[tuple[str, int]]) -> str:
    """The last of `groups` (ascending by first value) whose first value is <= `value`."""
    return next(name for name, first in reversed(groups) if value >= first)


def _facts(row: Mapping[str, Any]) -> list[tuple[Fact, int]]:
    """The facts one event row counts for, each with the followers it adds to the sum."""
    facts: list[tuple[Fact, int]] = [(_ALL, row["followers"] or 0)]
    if row["gender"] is not None:
        facts.append((("gender", row["gender"], ""), 0))
    if row["age"] is not None:
        facts.append((("age_group", _group_of(row["age"], AGE_GROUPS), ""), 0))
    if row["country"] is not None:
        facts.append((("country", row["country"], ""), 0))
    if row["city"] is not None:
        facts.append((("city", row["country"], row["city"]), 0))
    if row["followers_bin"] is not None:
        facts.append((("followers", str(row["followers_bin"]), ""), 0))
    if row["device"] is not None:
        facts.append((("device", row["device"], ""), 0))
    return facts


@dataclass
class _Audience:
    """One source's users: fact counts, and the follower counts the corrections moved, as
    (bin, fine bin, followers) -> events put in (taken out when negative)."""

    counts: Counter[Fact] = field(default_factory=Counter)
    followers_sum: int = 0
    moved: Moved = field(default_factory=Counter)

    def count(self, row: Mapping[str, Any], sign: int, dimensions: frozenset[str] | None) -> None:
        for fact, followers in _facts(row):
            if dimensions is None or fact[0] in dimensions:
                self.counts[fact] += sign
                self.followers_sum += sign * followers
        if row["followers_bin"] is not None and (dimensions is None or "followers" in dimensions):
            self.moved[(row["followers_bin"], row["followers_fine_bin"], row["followers"])] += sign

    def correct(self, source: Source, events: list[Mapping[str, Any]]) -> None:
        """Count one user once, by their latest event, instead of once per event."""
        events.sort(key=lambda row: (row["occurred_at"], row["event_key"]))
        for row in events:
            self.count(row, -1, None)
        if source != "tiktok":
            self.count(events[-1], +1, None)
            return
        latest_dimensions = frozenset(fact[0] for fact, _ in _facts(events[-1])) - _TOP_FUNNEL
        self.count(events[-1], +1, latest_dimensions)
        tops = [row for row in events if row["funnel_stage"] == "top"]
        if tops:
            self.count(tops[-1], +1, _TOP_FUNNEL)

    def values(self, dimension: str) -> dict[str, int]:
        return {f[1]: n for f, n in self.counts.items() if f[0] == dimension and n}

    def top(self, dimension: str) -> list[tuple[Fact, int]]:
        found = [(f, n) for f, n in self.counts.items() if f[0] == dimension and n > 0]
        return sorted(found, key=lambda item: (-item[1], item[0][2], item[0][1]))[:TOP_SIZE]


async def _top_cities(
    conn: asyncpg.Connection, pieces: list[Piece], audience: _Audience
) -> tuple[list[CityUsers], int]:
    """The top cities by their sketched estimates, less the repeat users' extra events, and
    the bound on the estimates' error."""
    # Counting a repeat user once only ever lowers a city's count: fetching as many more
    # candidates as cities were lowered keeps every city that can still be in the top.
    lowered = {fact: n for fact, n in audience.counts.items() if fact[0] == "city" and n}
    rows, error = await queries.city_candidates(conn, pieces, TOP_SIZE + len(lowered))
    ranked = [
        (error + row["extra"] + lowered.get(("city", row["country"], row["city"]), 0), row)
        for row in rows
    ]
    ranked = [(n, row) for n, row in ranked if n > 0]
    ranked.sort(key=lambda item: (-item[0], item[1]["city"], item[1]["country"]))
    cities = [
        CityUsers(country=row["country"], city=row["city"], users=n) for n, row in ranked[:TOP_SIZE]
    ]
    return cities, error


async def _facebook(
    conn: asyncpg.Connection, pieces: list[Piece], audience: _Audience
) -> FacebookAudience:
    genders = audience.values("gender")
    top_cities, error = await _top_cities(conn, pieces, audience)
    return FacebookAudience(
        users=audience.counts[_ALL],
        gender={gender: genders.get(gender, 0) for gender in get_args(Gender)},
        age_groups={group: audience.counts[("age_group", group, "")] for group, _ in AGE_GROUPS},
        top_countries=[CountryUsers(country=f[1], users=n) for f, n in audience.top("country")],
        top_cities=top_cities,
        top_cities_max_error=error,
    )


async def _tiktok(
    conn: asyncpg.Connection,
    pieces: list[Piece],
    covered: tuple[datetime, datetime],
    audience: _Audience,
) -> TiktokAudience:
    devices = audience.values("device")
    bins = {int(lower_bound): n for lower_bound, n in audience.values("followers").items()}
    tiers = dict.fromkeys((name for name, _ in FOLLOWER_TIERS), 0)
    for lower_bound, n in bins.items():
        tiers[_group_of(lower_bound, FOLLOWER_TIERS)] += n
    users = audience.counts[_ALL]
    by_device = {device: devices.get(device, 0) for device in get_args(TiktokDevice)}
    # Devices come from top-funnel events; users with none in the range are "unknown".
    by_device[UNKNOWN] = users - sum(by_device.values())
    return TiktokAudience(
        users=users,
        followers=await follower_stats(
            FollowerRanks(conn, pieces, covered, bins, audience.moved),
            users,
            audience.followers_sum,
        ),
        follower_tiers=tiers,
        devices=by_device,
        top_countries=[CountryUsers(country=f[1], users=n) for f, n in audience.top("country")],
    )


async def _users_exact(
    conn: asyncpg.Connection, start: datetime, end: datetime, window: timedelta
) -> bool:
    """Whether `[start, end)`, cut to the raw events kept, is no longer than `window`: then
    any two events of a user in it are at most `window` apart, and the write path knew them
    as one user's (`funnel.db.summaries`)."""
    extent = await queries.raw_extent(conn)
    if extent is None:
        return True
    first, last = extent
    if first.tzinfo is not None and last.tzinfo is not None:  # not an infinite bound
        start, end = max(start, first), min(end, last)
    return end - start <= window


async def demographics_report(
    conn: asyncpg.Connection, query: DemographicsQuery, repeat_window: timedelta
) -> DemographicsReport:
    """The report; `repeat_window` is REPEAT_USER_WINDOW, which says when user counts are
    exact."""
    asked = (query.start or OPEN_START, query.end or OPEN_END)
    retained = await read_retained(conn, *asked)
    covered, pieces = plan(*raw_range(*asked, retained), AUDIENCE_GRAINS, retained)
    start, end = covered
    sources: list[Source] = [query.source] if query.source else list(SOURCES)
    audiences = {source: _Audience() for source in sources}
    for row in await queries.count_audience(conn, pieces, sources):
        audience = audiences[row["source"]]
        audience.counts[(row["dimension"], row["value"], row["detail"])] += row["events"]
        if row["dimension"] == "all":
            audience.followers_sum += int(row["followers"])  # an exact `numeric` sum
    by_user: defaultdict[tuple[Source, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in await queries.repeat_user_events(conn, start, end, sources):
        by_user[(row["source"], row["user_id"])].append(row)
    for (source, _), events in by_user.items():
        audiences[source].correct(source, events)
    filters = DemographicsFilters(from_=iso(query.start), to=iso(query.end), source=query.source)
    return DemographicsReport(
        filters=filters,
        facebook=(
            await _facebook(conn, pieces, audiences["facebook"])
            if "facebook" in audiences
            else None
        ),
        tiktok=(
            await _tiktok(conn, pieces, covered, audiences["tiktok"])
            if "tiktok" in audiences
            else None
        ),
        coverage=coverage(query.start, query.end, covered),
        users_exact=await _users_exact(conn, start, end, repeat_window),
        users_exact_within_seconds=int(repeat_window.total_seconds()),
    )
