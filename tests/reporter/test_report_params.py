"""Bad query parameters answer 400 naming each one; FastAPI's 422 never shows."""

import httpx
import pytest

BAD = [
    ("/reports/events", {"from": "yesterday"}, "from"),
    ("/reports/events", {"to": "2026-13-01T00:00:00Z"}, "to"),
    ("/reports/events", {"from": "2026-11-25T10:00:00Z", "to": "2026-11-25T10:00:00Z"}, "from"),
    ("/reports/events", {"from": "2026-11-25T11:00:00Z", "to": "2026-11-25T10:00:00Z"}, "from"),
    ("/reports/events", {"source": "myspace"}, "source"),
    ("/reports/events", {"source": ""}, "source"),
    ("/reports/events", {"funnelStage": "middle"}, "funnelStage"),
    ("/reports/events", {"eventType": "poke"}, "eventType"),
    ("/reports/events", {"eventType": "like", "source": "facebook"}, "eventType"),
    ("/reports/events", {"eventType": "ad.view", "funnelStage": "bottom"}, "eventType"),
    ("/reports/events", {"interval": "week"}, "interval"),
    ("/reports/events", {"limit": "5"}, "limit"),
    (
        "/reports/events",
        {"from": "2000-01-01T00:00:00Z", "interval": "minute", "to": "2001-01-01"},
        "interval",
    ),
    ("/reports/revenue", {"funnelStage": "top"}, "funnelStage"),
    ("/reports/revenue", {"campaignId": ""}, "campaignId"),
    ("/reports/revenue", {"campaignId": "x" * 300}, "campaignId"),
    ("/reports/revenue", {"campaignId": "\x00"}, "campaignId"),
    ("/reports/events", {"source": "face\x00book"}, "source"),
    ("/reports/demographics", {"eventType": "like"}, "eventType"),
    ("/reports/demographics", {"to": "soon"}, "to"),
]


@pytest.mark.parametrize(("path", "params", "param"), BAD)
async def test_each_bad_parameter(
    client: httpx.AsyncClient, path: str, params: dict[str, str], param: str
) -> None:
    """Each bad or unknown parameter gives 400 with a detail naming it."""
    response = await client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]
    assert [detail["param"] for detail in body["details"]] == [param]
    assert all(detail["message"] for detail in body["details"])


async def test_every_problem_at_once(client: httpx.AsyncClient) -> None:
    """Several problems are all reported in one answer."""
    response = await client.get(
        "/reports/events?from=x&to=y&source=a&source=b&funnelStage=z&eventType=q&interval=w&x=1"
    )
    params = [detail["param"] for detail in response.json()["details"]]
    assert sorted(params) == sorted(
        ["x", "from", "to", "source", "funnelStage", "eventType", "interval"]
    )


async def test_repeated_parameter(client: httpx.AsyncClient) -> None:
    """A parameter given twice is refused rather than one value silently winning."""
    response = await client.get("/reports/revenue?source=facebook&source=tiktok")
    assert response.status_code == 400
    assert response.json()["details"] == [{"param": "source", "message": "given more than once"}]


async def test_offsets_and_naive_times(client: httpx.AsyncClient) -> None:
    """Offsets are converted to UTC; a time without an offset is read as UTC."""
    response = await client.get(
        "/reports/demographics",
        params={"from": "2026-11-25T12:30:00+02:00", "to": "2026-11-25T11:00:00"},
    )
    assert response.status_code == 200
    assert response.json()["filters"] == {
        "from": "2026-11-25T10:30:00Z",
        "to": "2026-11-25T11:00:00Z",
        "source": None,
    }
