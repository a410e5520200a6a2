"""`/reports/demographics` against distinct users computed in plain Python."""

import random
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from funnel.db import event_key, run_migrations, store_events
from funnel.reporting import CITY_SKETCH_SIZE
from tests.db.db_samples import facebook_event, rows_of
from tests.reporter.conftest import Loaded, load, running_reporter
from tests.reporter.report_dataset import START, Window, expected_demographics, generate
from tests.reporter.test_report_events import WINDOWS, _params


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("source", [None, "facebook", "tiktok"])
async def test_distinct_users_by_latest_event(
    client: httpx.AsyncClient, loaded: Loaded, window: Window, source: str | None
) -> None:
    """Users counted once, described by their latest event in the range; exact followers."""
    response = await client.get("/reports/demographics", params=_params(window, source=source))
    assert response.status_code == 200, response.text
    assert response.json() == expected_demographics(loaded.rows, window, source)


async def test_only_the_asked_source(client: httpx.AsyncClient) -> None:
    """With `source`, the other source's object is absent."""
    body = (await client.get("/reports/demographics", params={"source": "tiktok"})).json()
    assert set(body) == {"filters", "tiktok", "coverage", "usersExact", "usersExactWithinSeconds"}


async def test_repeat_users_exist_in_the_data_set(loaded: Loaded) -> None:
    """The data set has users with several events, some on both funnel stages."""
    users = [row.user_id for row in loaded.rows if row.source == "tiktok"]
    assert len(users) - len(set(users)) > 100


async def test_latest_event_in_range_describes_the_user(database_url: str) -> None:
    """A user counts once, by their latest event inside the range (TikTok device: latest
    top-funnel one), whatever they did before or after it."""
    rows = generate(count=400, seed=21)
    facebook = [row for row in rows if row.source == "facebook"][:3]
    tiktok_top = next(row for row in rows if row.source == "tiktok" and row.device)
    tiktok_bottom = next(row for row in rows if row.source == "tiktok" and not row.device)
    at = START + timedelta(minutes=30)
    mine = [
        facebook[0]._replace(
            event_key=event_key("a"), user_id="u", occurred_at=at, country="Chile"
        ),
        facebook[1]._replace(
            event_key=event_key("b"),
            user_id="u",
            occurred_at=at + timedelta(seconds=5),
            country="Kenya",
            city="Beta",
        ),
        facebook[2]._replace(
            event_key=event_key("c"),
            user_id="u",
            occurred_at=at + timedelta(hours=1),
            country="Poland",
        ),
        tiktok_top._replace(
            event_key=event_key("d"), user_id="t", occurred_at=at, device="Desktop", followers=7
        ),
        tiktok_bottom._replace(
            event_key=event_key("e"),
            user_id="t",
            occurred_at=at + timedelta(seconds=1),
            followers=9,
        ),
    ]
    await run_migrations(database_url)
    await load(database_url, mine, batch=1)
    window = Window(at, at + timedelta(minutes=1))
    async with running_reporter(database_url) as client:
        body = (await client.get("/reports/demographics", params=_params(window))).json()
    assert body == expected_demographics(mine, window)
    assert body["facebook"]["users"] == 1
    assert body["facebook"]["topCountries"] == [{"country": "Kenya", "users": 1}]
    assert body["facebook"]["topCities"] == [{"country": "Kenya", "city": "Beta", "users": 1}]
    assert body["tiktok"]["devices"] == {"Android": 0, "iOS": 0, "Desktop": 1, "unknown": 0}
    assert body["tiktok"]["followers"] == {"min": 9, "max": 9, "avg": 9.0, "median": 9}


async def test_the_largest_follower_counts_are_averaged_exactly(database_url: str) -> None:
    """Follower counts at the largest valid value add up past a `bigint` in the summary and
    in the report's sum; the average is still their exact mean."""
    rows = generate(count=200, seed=31)
    tiktok = [row for row in rows if row.source == "tiktok"][:3]
    at = START + timedelta(minutes=10)
    mine = [
        row._replace(
            event_key=event_key(f"big-{n}"), user_id=f"big-{n}", occurred_at=at, followers=2**63 - 1
        )
        for n, row in enumerate(tiktok)
    ]
    await run_migrations(database_url)
    await load(database_url, mine, batch=1)
    async with running_reporter(database_url) as client:
        response = await client.get("/reports/demographics", params={"source": "tiktok"})
    assert response.status_code == 200, response.text
    followers = response.json()["tiktok"]["followers"]
    assert followers["avg"] == float(2**63 - 1)
    assert (followers["min"], followers["max"]) == (2**63 - 1, 2**63 - 1)


async def test_top_cities_past_the_sketch_are_bounded_and_said_to_be(database_url: str) -> None:
    """With more cities in a minute than a sketch holds, the frequent ones still lead, each
    count at least the true one and over it by at most the answer's `topCitiesMaxError`,
    and no bucket keeps more than the sketch's size."""
    heavy = {f"Heavy{k}": 60 - 10 * k for k in range(5)}
    events = []
    for city, count in heavy.items():
        events += [_located(city) for _ in range(count)]
    events += [_located(f"Rare{k}") for k in range(1_500)]
    random.Random(4).shuffle(events)
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        for start in range(0, len(events), 250):
            async with conn.transaction():
                await store_events(conn, rows_of(events[start : start + 250]))
        kept = await conn.fetchval(
            "SELECT max(n) FROM"
            " (SELECT count(*) AS n FROM city_sketches GROUP BY grain, bucket) AS kept"
        )
    finally:
        await conn.close()
    async with running_reporter(database_url) as client:
        body = (await client.get("/reports/demographics", params={"source": "facebook"})).json()

    assert kept <= CITY_SKETCH_SIZE
    error = body["facebook"]["topCitiesMaxError"]
    assert error > 0
    top = body["facebook"]["topCities"]
    assert [row["city"] for row in top[:5]] == list(heavy)
    for row in top[:5]:
        assert heavy[row["city"]] <= row["users"] <= heavy[row["city"]] + error


def _located(city: str) -> dict[str, Any]:
    event = facebook_event(stage="top")
    event["data"]["user"]["location"] = {"country": "Chile", "city": city}
    return event


async def test_users_are_known_as_one_within_the_repeat_window(database_url: str) -> None:
    """Two events of a user stored apart are known as one user's when they are at most
    REPEAT_USER_WINDOW (1 hour) apart; further apart, a range holding both counts the user
    twice and says its counts are not exact."""
    await run_migrations(database_url)
    at = START + timedelta(minutes=5)
    near = [facebook_event(), facebook_event()]
    far = [facebook_event(), facebook_event()]
    for event, moment in zip(
        near + far,
        [at, at + timedelta(minutes=50), at, at + timedelta(hours=2)],
        strict=True,
    ):
        event["timestamp"] = moment.isoformat().replace("+00:00", "Z")
    for event in near:
        event["data"]["user"]["userId"] = "near"
    for event in far:
        event["data"]["user"]["userId"] = "far"
    conn = await asyncpg.connect(database_url)
    try:
        for event in near + far:  # one batch each, as events arriving apart are
            async with conn.transaction():
                await store_events(conn, rows_of([event]))
    finally:
        await conn.close()

    async def users(start: Any, end: Any) -> tuple[int, bool]:
        params = {"from": start.isoformat(), "to": end.isoformat(), "source": "facebook"}
        body = (await client.get("/reports/demographics", params=params)).json()
        assert body["usersExactWithinSeconds"] == 3600
        return body["facebook"]["users"], body["usersExact"]

    async with running_reporter(database_url) as client:
        # Both of "near", one of "far": within the window, exact.
        assert await users(at, at + timedelta(minutes=55)) == (2, True)
        # Both of each: "far" counted twice, and the answer says its counts may be over.
        assert await users(at, at + timedelta(hours=3)) == (3, False)
