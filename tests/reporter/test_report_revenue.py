"""`/reports/revenue` against exact sums computed in plain Python from the same events."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from funnel.db import run_migrations
from funnel.db.rows import event_key
from funnel.reporter import queries, revenue
from tests.reporter.conftest import Loaded, load, running_reporter
from tests.reporter.report_dataset import START, Window, expected_revenue, generate
from tests.reporter.test_report_events import WINDOWS, _params


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("source", [None, "facebook", "tiktok"])
async def test_totals_and_top_campaigns(
    client: httpx.AsyncClient, loaded: Loaded, window: Window, source: str | None
) -> None:
    """Revenue, transactions, average and top campaigns match, to the cent."""
    response = await client.get("/reports/revenue", params=_params(window, source=source))
    assert response.status_code == 200, response.text
    assert response.json() == expected_revenue(loaded.rows, window, source)


@pytest.mark.parametrize("window", WINDOWS[:4])
async def test_one_campaign(client: httpx.AsyncClient, loaded: Loaded, window: Window) -> None:
    """`campaignId` narrows every figure to that campaign; an unknown one gives zeros."""
    for campaign in ("camp-007", "camp-042", "camp-none"):
        for source in (None, "facebook", "tiktok"):
            response = await client.get(
                "/reports/revenue", params=_params(window, source=source, campaignId=campaign)
            )
            assert response.status_code == 200, response.text
            assert response.json() == expected_revenue(loaded.rows, window, source, campaign)


@pytest.mark.parametrize("window", WINDOWS)
async def test_walk_over_all_time_totals(
    client: httpx.AsyncClient, loaded: Loaded, window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The all-time-bound campaign walk finds the same top campaigns as the full scan."""
    walked: list[bool] = []
    walk = revenue._walk_campaigns

    async def spy(*args: Any) -> Any:
        found = await walk(*args)
        walked.append(found is not None)
        return found

    monkeypatch.setattr(revenue, "_RAW_LIMIT", 0)
    monkeypatch.setattr(revenue, "_PROBE_COST", 1)
    monkeypatch.setattr(revenue, "_walk_campaigns", spy)
    for source in (None, "facebook"):
        response = await client.get("/reports/revenue", params=_params(window, source=source))
        assert response.json() == expected_revenue(loaded.rows, window, source)
    if window == Window(None, None):
        assert walked == [True, True]


async def test_walk_reads_no_campaign_that_cannot_enter(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its first page, the walk reads only campaigns whose all-time revenue reaches the
    10th best in range: no other could enter the top. Here 300 campaigns buy every hour
    for 10 hours, and 2,000 one-purchase campaigns buy less, all in the hour asked about."""
    template = next(row for row in generate() if row.event_type == "checkout.complete")
    rows = [
        template._replace(
            event_key=event_key(f"pool-{n}-{hour}"),
            occurred_at=START + timedelta(hours=hour, minutes=n % 60),
            campaign_id=f"camp-pool-{n}",
            purchase_amount=Decimal(300 - n),
        )
        for n in range(300)
        for hour in range(10)
    ]
    rows += [
        template._replace(
            event_key=event_key(f"solo-{n}"),
            occurred_at=START + timedelta(seconds=n),
            campaign_id=f"camp-solo-{n}",
            purchase_amount=Decimal(1 + n % 50),
        )
        for n in range(2_000)
    ]
    await run_migrations(database_url)
    await load(database_url, rows, batch=1_000)
    pages: list[list[Decimal]] = []
    candidates = queries.campaign_candidates

    async def spy(*args: Any) -> Any:
        found = await candidates(*args)
        pages.append([row["bound"] for row in found])
        return found

    monkeypatch.setattr(revenue, "_RAW_LIMIT", 0)
    monkeypatch.setattr(revenue, "_PROBE_COST", 1)
    monkeypatch.setattr(queries, "campaign_candidates", spy)
    window = Window(START, START + timedelta(hours=1))
    async with running_reporter(database_url) as client:
        body = (await client.get("/reports/revenue", params=_params(window))).json()
    assert body == expected_revenue(rows, window)
    assert body["topCampaigns"][-1] == {
        "campaignId": "camp-pool-9",
        "revenue": "291.00",
        "transactions": 1,
    }
    assert len(pages) > 1
    assert all(bound >= 291 for page in pages[1:] for bound in page)


async def test_amounts_are_exact_cents(client: httpx.AsyncClient, loaded: Loaded) -> None:
    """Sums of many amounts keep every cent; ad.click amounts are not revenue."""
    body = (await client.get("/reports/revenue")).json()
    exact = sum(
        (
            r.purchase_amount
            for r in loaded.rows
            if r.purchase_amount is not None and r.event_type in ("checkout.complete", "purchase")
        ),
        Decimal(0),
    )
    assert Decimal(body["totalRevenue"]) == exact
    assert body["totalRevenue"] == f"{exact:.2f}"


async def test_empty_range(client: httpx.AsyncClient) -> None:
    """No transactions: zero revenue, "0.00" average, no campaigns."""
    window = Window(START - timedelta(days=3), START - timedelta(days=2))
    body = (await client.get("/reports/revenue", params=_params(window))).json()
    assert body["totalRevenue"] == body["averageOrderValue"] == "0.00"
    assert body["transactions"] == 0
    assert body["topCampaigns"] == []
