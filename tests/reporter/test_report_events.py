"""`/reports/events` against answers computed in plain Python from the same events."""

import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.reporter.conftest import Loaded
from tests.reporter.report_dataset import KINDS, START, Window, expected_events

T = START
WINDOWS = [
    Window(None, None),
    Window(datetime(2026, 11, 25, 10, tzinfo=UTC), datetime(2026, 11, 25, 12, tzinfo=UTC)),
    Window(T + timedelta(seconds=95.123), T + timedelta(hours=1, minutes=7, seconds=3.5)),
    Window(T + timedelta(minutes=20, milliseconds=1), None),
    Window(None, T + timedelta(minutes=41, seconds=59, milliseconds=999)),
    Window(T + timedelta(minutes=33, seconds=10.2), T + timedelta(minutes=33, seconds=10.9)),
    Window(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC)),
]


def _params(window: Window, **filters: str | None) -> dict[str, str]:
    params = {key: value for key, value in filters.items() if value is not None}
    if window.start is not None:
        params["from"] = window.start.isoformat()
    if window.end is not None:
        params["to"] = window.end.isoformat()
    return params


@pytest.mark.parametrize("window", WINDOWS)
async def test_every_filter_combination(
    client: httpx.AsyncClient, loaded: Loaded, window: Window
) -> None:
    """Totals and breakdowns match for every source, stage and event type filter."""
    for source, stage in itertools.product([None, "facebook", "tiktok"], [None, "top", "bottom"]):
        kinds: list[str | None] = [None]
        kinds += sorted(
            {
                k
                for s in KINDS
                if source in (None, s)
                for f in KINDS[s]
                if stage in (None, f)
                for k in KINDS[s][f]
            }
        )[:3]
        for kind in kinds:
            response = await client.get(
                "/reports/events",
                params=_params(window, source=source, funnelStage=stage, eventType=kind),
            )
            assert response.status_code == 200, response.text
            expected = expected_events(loaded.rows, window, source, stage, kind)
            assert response.json() == expected, (source, stage, kind)


@pytest.mark.parametrize("interval", ["minute", "hour", "day"])
@pytest.mark.parametrize("window", WINDOWS[:6])
async def test_series(
    client: httpx.AsyncClient, loaded: Loaded, window: Window, interval: str
) -> None:
    """The series has every UTC bucket of the range, zeros included, summing to the total."""
    response = await client.get(
        "/reports/events", params=_params(window, interval=interval, source="tiktok")
    )
    assert response.status_code == 200, response.text
    expected = expected_events(loaded.rows, window, "tiktok", interval=interval)
    assert response.json() == expected
    assert sum(point["count"] for point in expected["series"]) == expected["total"]


async def test_range_edges(client: httpx.AsyncClient, loaded: Loaded) -> None:
    """`from` is inclusive and `to` exclusive, to the millisecond."""
    moment = sorted(row.occurred_at for row in loaded.rows)[1234]
    at = await client.get(
        "/reports/events", params=_params(Window(moment, moment + timedelta(milliseconds=1)))
    )
    before = await client.get(
        "/reports/events", params=_params(Window(moment - timedelta(milliseconds=1), moment))
    )
    holding = sum(1 for row in loaded.rows if row.occurred_at == moment)
    assert at.json()["total"] == holding >= 1
    assert before.json()["total"] == sum(
        1 for row in loaded.rows if moment - timedelta(milliseconds=1) <= row.occurred_at < moment
    )


async def test_empty_range(client: httpx.AsyncClient) -> None:
    """A range without events answers zeros, not an error."""
    response = await client.get(
        "/reports/events",
        params={"from": "2001-01-01T00:00:00Z", "to": "2001-01-01T00:05:00Z", "interval": "minute"},
    )
    body = response.json()
    assert body["total"] == 0
    assert body["bySource"] == {"facebook": 0, "tiktok": 0}
    assert [point["count"] for point in body["series"]] == [0] * 5
    assert body["filters"]["from"] == "2001-01-01T00:00:00Z"
