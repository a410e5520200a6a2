"""`/reports/demographics` against distinct users computed in plain Python."""

import httpx
import pytest
from report_dataset import Window, expected_demographics
from test_report_events import WINDOWS, _params

from conftest import Loaded


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
    assert set(body) == {"filters", "tiktok"}


async def test_repeat_users_exist_in_the_data_set(loaded: Loaded) -> None:
    """The data set has users with several events, some on both funnel stages."""
    users = [row.user_id for row in loaded.rows if row.source == "tiktok"]
    assert len(users) - len(set(users)) > 100
