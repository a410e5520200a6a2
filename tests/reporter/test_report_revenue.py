"""`/reports/revenue` against exact sums computed in plain Python from the same events."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from funnel.reporter import revenue
from tests.reporter.conftest import Loaded
from tests.reporter.report_dataset import START, Window, expected_revenue
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
