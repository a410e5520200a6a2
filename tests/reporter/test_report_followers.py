"""Exact follower min, median and max through bins and fine bins, against plain Python."""

import random
from datetime import timedelta

import asyncpg

from funnel.db import run_migrations
from funnel.db.rows import EventRow
from funnel.events.wire import INT64_MAX
from funnel.reporter.followers import fine_bins_of, fine_width
from tests.reporter.conftest import load, running_reporter
from tests.reporter.report_dataset import START, Window, expected_demographics, generate
from tests.reporter.test_report_events import WINDOWS, _params

T = START


def _sample() -> list[int]:
    """Follower counts at and around every bin bound, small ones, and random ones."""
    values = set(range(1200)) | {INT64_MAX, INT64_MAX - 1}
    for digits in range(2, 20):
        for lead in range(10, 100):
            bound = lead * 10 ** (digits - 2)
            values |= {bound - 1, bound, bound + 1}
    rng = random.Random(2)
    values |= {rng.randrange(10**digits) for digits in range(1, 19) for _ in range(50)}
    return sorted(value for value in values if 0 <= value <= INT64_MAX)


async def test_fine_bins_tile_each_bin_as_the_database_bins_them(database_url: str) -> None:
    """Every count's fine bin is one of its bin's fine bins and holds it, a fine bin under
    1,000 is one value, and a bin's fine bins end where the next bin starts."""
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT v, funnel_followers_bin(v) AS bin, funnel_followers_fine_bin(v) AS fine"
            " FROM unnest($1::bigint[]) AS v",
            _sample(),
        )
        ends = sorted({fine_bins_of(row["bin"]).stop for row in rows} - {INT64_MAX + 1})
        next_bins = await conn.fetch(
            "SELECT e, funnel_followers_bin(e - 1) AS before, funnel_followers_bin(e) AS at"
            " FROM unnest($1::bigint[]) AS e",
            ends,
        )
    finally:
        await conn.close()
    for row in rows:
        assert row["fine"] in fine_bins_of(row["bin"]), row
        assert row["fine"] <= row["v"] < row["fine"] + fine_width(row["fine"]), row
        assert (fine_width(row["fine"]) == 1) == (row["v"] < 1000), row
    for row in next_bins:
        assert row["at"] == row["e"] != row["before"], row


def _dense_followers(seed: int) -> list[EventRow]:
    """The report data set with TikTok follower counts crowded into a few fine bins (many
    values each), some single-value ones, and a spread; recurring users move between them."""
    rng = random.Random(seed)

    def draw() -> int:
        kind = rng.random()
        if kind < 0.5:
            return rng.randrange(500_000, 503_000)
        if kind < 0.75:
            return rng.randrange(1000)
        return rng.randrange(3_000_000)

    return [
        row._replace(followers=draw()) if row.source == "tiktok" else row
        for row in generate(count=2500, seed=seed)
    ]


async def test_median_in_crowded_fine_bins_is_exact(database_url: str) -> None:
    """With many distinct counts in the median's fine bin, recurring users counted by their
    latest event, and ranges with raw edges, minutes and hours, min, median and max are
    those of the users' latest counts."""
    rows = _dense_followers(seed=41)
    await run_migrations(database_url)
    await load(database_url, rows)
    windows = [
        *WINDOWS,
        Window(T + timedelta(seconds=1.5), T + timedelta(hours=2, minutes=21, seconds=13.25)),
        Window(T + timedelta(minutes=61, seconds=59), T + timedelta(minutes=62, seconds=1)),
    ]
    async with running_reporter(database_url) as client:
        for window in windows:
            response = await client.get(
                "/reports/demographics", params=_params(window, source="tiktok")
            )
            assert response.status_code == 200, response.text
            assert response.json() == expected_demographics(rows, window, "tiktok"), window
