"""A generated data set for the report tests, and the answers computed from it in Python.

The expected answers are computed here from the generated rows alone, by direct and slow
code (filter, group, sort), never by the reporter's decomposition into summaries.
"""

import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from funnel.db.rows import EventRow, event_key
from funnel.reporting import REPEAT_USER_WINDOW

START = datetime(2026, 11, 25, 9, 58, 30, tzinfo=UTC)
SPAN = timedelta(hours=2, minutes=40)

KINDS = {
    "facebook": {
        "top": ["ad.view", "page.like", "comment", "video.view"],
        "bottom": ["ad.click", "form.submission", "checkout.complete"],
    },
    "tiktok": {
        "top": ["video.view", "like", "share", "comment"],
        "bottom": ["profile.visit", "purchase", "follow"],
    },
}
TRANSACTIONAL = {("facebook", "checkout.complete"), ("tiktok", "purchase")}
COUNTRIES = ["Brazil", "Chile", "Kenya", "Poland", "Ukraine", "Vietnam"]
CITIES = ["Alpha", "Beta", "Gamma", "Delta"]
GENDERS = ["male", "female", "non-binary"]
DEVICES = ["Android", "iOS", "Desktop"]


def _moment(rng: random.Random) -> datetime:
    # Millisecond timestamps; a few land exactly on minute and hour boundaries.
    if rng.random() < 0.05:
        return START + timedelta(minutes=rng.randrange(int(SPAN.total_seconds() // 60)))
    return START + timedelta(milliseconds=rng.randrange(int(SPAN.total_seconds() * 1000)))


def generate(count: int = 3000, seed: int = 7) -> list[EventRow]:
    """Events of both sources; some users and campaigns recur, amounts have cents."""
    rng = random.Random(seed)
    repeat_users = {source: [f"{source[:2]}-regular-{i}" for i in range(40)] for source in KINDS}
    campaigns = [f"camp-{i:03d}" for i in range(60)]
    rows = []
    for number in range(count):
        source = rng.choice(["facebook", "tiktok"])
        stage = rng.choice(["top", "bottom"])
        kind = rng.choice(KINDS[source][stage])
        user = rng.choice(repeat_users[source]) if rng.random() < 0.3 else f"user-{number}"
        amount = None
        if kind in ("checkout.complete", "purchase") or (kind == "ad.click" and rng.random() < 0.1):
            # An ad.click may carry an amount: it is still not revenue.
            amount = Decimal(rng.randrange(500, 100_000)) / 100
        campaign = None
        if source == "facebook" and stage == "bottom":
            campaign = rng.choice(campaigns) if rng.random() < 0.6 else f"camp-solo-{number}"
        country = city = gender = device = None
        age = followers = None
        if source == "facebook":
            age, gender = rng.randrange(14, 80), rng.choice(GENDERS)
            country, city = rng.choice(COUNTRIES), rng.choice(CITIES)
        else:
            followers = rng.choice([0, 999, 1000, rng.randrange(0, 3_000_000), 10**6])
            if stage == "top":
                device, country = rng.choice(DEVICES), rng.choice(COUNTRIES)
        rows.append(
            EventRow(
                event_key=event_key(f"{source[:2]}-{number}"),
                occurred_at=_moment(rng),
                source=source,
                funnel_stage=stage,
                event_type=kind,
                user_id=user,
                campaign_id=campaign,
                purchase_amount=amount,
                age=age,
                gender=gender,
                country=country,
                city=city,
                followers=followers,
                device=device,
                payload=None,
                # Reports never read the raw form: these rows point into no batch.
                batch_id=0,
                batch_index=number,
            )
        )
    return rows


@dataclass(frozen=True)
class Window:
    start: datetime | None
    end: datetime | None

    def holds(self, row: EventRow) -> bool:
        return (self.start is None or row.occurred_at >= self.start) and (
            self.end is None or row.occurred_at < self.end
        )


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def _bucket(moment: datetime, interval: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    if interval in ("hour", "day"):
        moment = moment.replace(minute=0)
    if interval == "day":
        moment = moment.replace(hour=0)
    return moment


def expected_events(
    rows: Iterable[EventRow],
    window: Window,
    source: str | None = None,
    stage: str | None = None,
    kind: str | None = None,
    interval: str | None = None,
) -> dict[str, Any]:
    chosen = [
        r
        for r in rows
        if window.holds(r)
        and source in (None, r.source)
        and stage in (None, r.funnel_stage)
        and kind in (None, r.event_type)
    ]
    kinds = Counter((r.source, r.funnel_stage, r.event_type) for r in chosen)
    answer: dict[str, Any] = {
        "filters": {
            "from": _iso(window.start),
            "to": _iso(window.end),
            "source": source,
            "funnelStage": stage,
            "eventType": kind,
            "interval": interval,
        },
        "total": len(chosen),
        "bySource": {s: sum(1 for r in chosen if r.source == s) for s in KINDS},
        "byFunnelStage": {
            f: sum(1 for r in chosen if r.funnel_stage == f) for f in ("top", "bottom")
        },
        "byEventType": [
            {"source": s, "funnelStage": f, "eventType": k, "count": kinds[(s, f, k)]}
            for s in KINDS
            for f in ("top", "bottom")
            for k in KINDS[s][f]
            if source in (None, s) and stage in (None, f) and kind in (None, k)
        ],
    }
    if interval is not None:
        counts = Counter(_bucket(r.occurred_at, interval) for r in chosen)
        step = {
            "minute": timedelta(minutes=1),
            "hour": timedelta(hours=1),
            "day": timedelta(days=1),
        }
        first: datetime | None = (
            _bucket(window.start, interval) if window.start else min(counts, default=None)
        )
        last: datetime | None
        if window.end is not None:
            last = _bucket(window.end - timedelta(microseconds=1), interval)
        else:
            last = max(counts, default=None)
        series = []
        while first is not None and last is not None and first <= last:
            series.append({"start": _iso(first), "count": counts[first]})
            first += step[interval]
        answer["series"] = series
    answer["coverage"] = complete_coverage(window)
    return answer


def expected_revenue(
    rows: Iterable[EventRow], window: Window, source: str | None = None, campaign: str | None = None
) -> dict[str, Any]:
    chosen = [
        r
        for r in rows
        if window.holds(r)
        and source in (None, r.source)
        and campaign in (None, r.campaign_id)
        and (r.source, r.event_type) in TRANSACTIONAL
        and r.purchase_amount is not None
    ]
    total = sum((r.purchase_amount or Decimal(0) for r in chosen), Decimal(0))
    by_campaign: dict[str, list[Decimal]] = defaultdict(list)
    for r in chosen:
        if r.campaign_id is not None:
            by_campaign[r.campaign_id].append(r.purchase_amount or Decimal(0))
    ranked = sorted(by_campaign.items(), key=lambda item: (-sum(item[1]), item[0]))[:10]
    sources = [source] if source else list(KINDS)
    return {
        "filters": {
            "from": _iso(window.start),
            "to": _iso(window.end),
            "source": source,
            "campaignId": campaign,
        },
        "totalRevenue": _money(total),
        "transactions": len(chosen),
        "averageOrderValue": _money(total / len(chosen)) if chosen else "0.00",
        "bySource": [
            {
                "source": s,
                "revenue": _money(
                    sum(
                        (r.purchase_amount or Decimal(0) for r in chosen if r.source == s),
                        Decimal(0),
                    )
                ),
                "transactions": sum(1 for r in chosen if r.source == s),
            }
            for s in sources
        ],
        "topCampaigns": [
            {"campaignId": c, "revenue": _money(sum(a, Decimal(0))), "transactions": len(a)}
            for c, a in ranked
        ],
        "coverage": complete_coverage(window),
        "topCampaignsCoverage": complete_coverage(window),
    }


def complete_coverage(window: Window) -> dict[str, Any]:
    """The `coverage` of an answer that counted the whole asked range."""
    return {"from": _iso(window.start), "to": _iso(window.end), "complete": True}


def _age_group(age: int) -> str:
    for name, high in (
        ("<18", 17),
        ("18-24", 24),
        ("25-34", 34),
        ("35-44", 44),
        ("45-54", 54),
        ("55-64", 64),
    ):
        if age <= high:
            return name
    return "65+"


def _tier(followers: int) -> str:
    for name, limit in (
        ("<1k", 1_000),
        ("1k-10k", 10_000),
        ("10k-100k", 100_000),
        ("100k-1M", 1_000_000),
    ):
        if followers < limit:
            return name
    return "1M+"


def _top(counter: Counter[Any], key: Any) -> list[Any]:
    return sorted(((k, n) for k, n in counter.items()), key=key)[:10]


def expected_demographics(
    rows: Iterable[EventRow], window: Window, source: str | None = None
) -> dict[str, Any]:
    rows = list(rows)
    by_user: dict[tuple[str, str], list[EventRow]] = defaultdict(list)
    for r in rows:
        if window.holds(r) and source in (None, r.source):
            by_user[(r.source, r.user_id)].append(r)
    latest = {
        key: max(events, key=lambda r: (r.occurred_at, r.event_key))
        for key, events in by_user.items()
    }
    answer: dict[str, Any] = {
        "filters": {"from": _iso(window.start), "to": _iso(window.end), "source": source}
    }
    if source in (None, "facebook"):
        users = [r for (s, _), r in latest.items() if s == "facebook"]
        countries = Counter(r.country for r in users)
        cities = Counter((r.country, r.city) for r in users)
        answer["facebook"] = {
            "users": len(users),
            "gender": {g: sum(1 for r in users if r.gender == g) for g in GENDERS},
            "ageGroups": {
                g: sum(1 for r in users if _age_group(r.age or 0) == g)
                for g in ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
            },
            "topCountries": [
                {"country": c, "users": n} for c, n in _top(countries, lambda i: (-i[1], i[0]))
            ],
            "topCities": [
                {"country": c, "city": t, "users": n}
                for (c, t), n in _top(cities, lambda i: (-i[1], i[0][1], i[0][0]))
            ],
            # The data set has fewer cities per bucket than a sketch holds: exact.
            "topCitiesMaxError": 0,
        }
    if source in (None, "tiktok"):
        users = [r for (s, _), r in latest.items() if s == "tiktok"]
        followers = [r.followers or 0 for r in users]
        tops = [
            max(
                (r for r in events if r.funnel_stage == "top"),
                key=lambda r: (r.occurred_at, r.event_key),
            )
            for (s, _), events in by_user.items()
            if s == "tiktok" and any(r.funnel_stage == "top" for r in events)
        ]
        countries = Counter(r.country for r in tops)
        answer["tiktok"] = {
            "users": len(users),
            "followers": {
                "min": min(followers, default=None),
                "max": max(followers, default=None),
                "avg": round(sum(followers) / len(followers), 2) if followers else None,
                "median": statistics.median(followers) if followers else None,
            },
            "followerTiers": {
                t: sum(1 for f in followers if _tier(f) == t)
                for t in ("<1k", "1k-10k", "10k-100k", "100k-1M", "1M+")
            },
            "devices": {
                **{d: sum(1 for r in tops if r.device == d) for d in DEVICES},
                "unknown": len(users) - len(tops),
            },
            "topCountries": [
                {"country": c, "users": n} for c, n in _top(countries, lambda i: (-i[1], i[0]))
            ],
        }
    answer["coverage"] = complete_coverage(window)
    answer["usersExact"] = _users_exact(rows, window)
    answer["usersExactWithinSeconds"] = int(REPEAT_USER_WINDOW.total_seconds())
    return answer


def _users_exact(rows: Iterable[EventRow], window: Window) -> bool:
    """Whether the window, cut to the hourly partitions holding `rows`, is at most the
    repeat-user window long."""
    hour = timedelta(hours=1)
    moments = [r.occurred_at for r in rows]
    first = min(moments).replace(minute=0, second=0, microsecond=0)
    last = max(moments).replace(minute=0, second=0, microsecond=0) + hour
    start = max(window.start or first, first)
    end = min(window.end or last, last)
    return end - start <= REPEAT_USER_WINDOW
