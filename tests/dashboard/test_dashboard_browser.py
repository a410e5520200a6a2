"""The dashboard in a real browser against a running system fed by the publisher emulator:
every panel shows data, and a filter changed in the form shows what the API answers for it."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from funnel.dashboard import PATH
from funnel.local.services import GATEWAY, REPORTER
from tests.dashboard.browser import Chromium, DashboardPage
from tests.dashboard.conftest import Publisher
from tests.monitoring.processes import Child

# `chromium` first: without a browser the test skips before starting any service.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.usefixtures("chromium")]

_PANELS_SECONDS = 90.0
_DRAIN_SECONDS = 60.0
# The page asks for the reports again every 10 s.
_REFRESH_SECONDS = 30.0
# What the page shows where it has no figure yet.
_NONE = "\u2013"
_STORES = ("raw events", "summaries", "stream", "dead letters")
_STORE_LABELS = dict(zip(_STORES, ("raw", "summaries", "stream", "dead_letters"), strict=True))


@pytest.fixture
async def page(chromium: Chromium) -> AsyncIterator[DashboardPage]:
    """A fresh headless Chromium, closed afterwards."""
    browser = await asyncio.to_thread(DashboardPage, chromium)
    try:
        yield browser
    finally:
        await asyncio.to_thread(browser.close)


def _number(text: str | None) -> int:
    assert text is not None
    return int(text.replace(",", ""))


def _every_panel_shows_data(seen: dict[str, Any]) -> bool:
    gateway = seen["gateway"]
    return (
        all(value is not None and value.replace(",", "").isdigit() for value in gateway)
        and _number(gateway[1]) > 0
        and seen["ratesPoints"] >= 2
        and seen["latencyPoints"] >= 1
        and [ready for _, ready in seen["readiness"]] == ["true"] * 4
        and len(seen["collectors"]) == 2
        and all(cells[3] not in (_NONE, "n/a") for cells in seen["collectors"])
        and len(seen["storage"]) == 4
        and len(seen["retention"]) == 4
        and seen["query"] == ""
        and seen["eventsTotal"] not in (None, _NONE, "0")
        and seen["eventsPoints"] >= 1
        and seen["eventTypes"] == 14
        and seen["revenue"] not in (None, _NONE)
        and seen["campaigns"] >= 1
        and seen["facebookUsers"] not in (None, "0")
        and seen["tiktokUsers"] not in (None, "0")
        and seen["bars"] > 0
        and not seen["errors"]
    )


def _has(
    services: list[dict[str, Any]], name: str, labels: dict[str, str], *, above: float = -1
) -> bool:
    return any(
        sample["name"] == name
        and labels.items() <= sample["labels"].items()
        and sample["value"] > above
        for service in services
        for sample in service["samples"]
    )


def _check_storage_and_retention(seen: dict[str, Any], live: dict[str, Any]) -> None:
    """A figure the services report is shown; one they do not (yet) report is "n/a"."""
    services = live["services"]
    for label, value in seen["storage"]:
        present = _has(services, "funnel_storage_bytes", {"store": _STORE_LABELS[label]})
        assert (value != "n/a") == present, (label, value)
    retention = dict(seen["retention"])
    for label, name, above in (
        ("time", "funnel_retention_time_seconds", -1),
        ("size", "funnel_retention_size_bytes", -1),
        # 0 until a retention round has seen an event: "none yet".
        ("oldest raw event", "funnel_retention_oldest_event_seconds", 0),
        ("dropped events", "funnel_retention_dropped_events_total", -1),
    ):
        present = _has(services, name, {}, above=above)
        assert (retention[label] != "n/a") == present, (label, retention)


async def _stored_everything(client: httpx.AsyncClient, gateway: Child, reporter: Child) -> int:
    """Once the publisher stopped: wait until the events report counts every event the
    gateway stored in JetStream; that total."""
    metrics = (await client.get(gateway.url("/metrics"))).text
    acknowledged = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("funnel_gateway_events_processed_total{")
    )
    async with asyncio.timeout(_DRAIN_SECONDS):
        while True:
            total = (await client.get(reporter.url("/reports/events"))).json()["total"]
            if total >= acknowledged:
                assert total == acknowledged
                return int(total)
            await asyncio.sleep(0.5)


async def _answers(client: httpx.AsyncClient, reporter: Child, query: str) -> dict[str, Any]:
    """The three reports for the page's query (its default interval added, as the page does)."""
    answers = {}
    for report, extra in (("events", "interval=minute"), ("revenue", ""), ("demographics", "")):
        params = "&".join(part for part in (query, extra) if part)
        response = await client.get(reporter.url(f"/reports/{report}?{params}"))
        assert response.status_code == 200, response.text
        answers[report] = response.json()
    return answers


async def test_every_panel_shows_data_and_a_filter_shows_its_answer(
    system: dict[str, Child], publisher: Publisher, page: DashboardPage, tmp_path: Path
) -> None:
    """Live panels and reports fill in; choosing TikTok shows exactly the API's TikTok numbers,
    the URL keeps the choice, and nothing is loaded from anywhere but the reporter."""
    gateway, reporter = system[GATEWAY], system[REPORTER]
    await asyncio.to_thread(page.open, reporter.url(PATH))
    seen = await asyncio.to_thread(
        page.until, page.panels, _every_panel_shows_data, _PANELS_SECONDS
    )
    async with httpx.AsyncClient(timeout=30) as client:
        live = (await client.get(reporter.url(f"{PATH}api/live"))).json()
        _check_storage_and_retention(seen, live)

        await asyncio.to_thread(publisher.stop)
        total = await _stored_everything(client, gateway, reporter)
        everything = await asyncio.to_thread(
            page.until, page.panels, lambda s: _number(s["eventsTotal"]) == total, _REFRESH_SECONDS
        )

        await asyncio.to_thread(page.choose, "source", "tiktok")
        tiktok = await asyncio.to_thread(
            page.until, page.panels, lambda s: s["query"] == "source=tiktok", _REFRESH_SECONDS
        )
        answers = await _answers(client, reporter, "source=tiktok")

    assert _number(tiktok["eventsTotal"]) == answers["events"]["total"]
    assert answers["events"]["total"] < _number(everything["eventsTotal"])
    assert tiktok["revenue"] == answers["revenue"]["totalRevenue"]
    assert _number(tiktok["transactions"]) == answers["revenue"]["transactions"]
    assert _number(tiktok["tiktokUsers"]) == answers["demographics"]["tiktok"]["users"]
    assert tiktok["facebookUsers"] is None
    assert tiktok["eventTypes"] == 7
    screenshot = tmp_path / "dashboard.png"
    await asyncio.to_thread(page.screenshot, screenshot)
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    shared = page.url
    assert shared.endswith(f"{PATH}?source=tiktok")
    await asyncio.to_thread(page.open, shared)
    again = await asyncio.to_thread(
        page.until, page.panels, lambda s: s["query"] == "source=tiktok", _REFRESH_SECONDS
    )
    assert await asyncio.to_thread(page.field, "source") == "tiktok"
    assert again["eventsTotal"] == tiktok["eventsTotal"]

    assert await asyncio.to_thread(page.foreign_resources) == []
    assert await asyncio.to_thread(page.errors) == []


# The page's PromQL arithmetic on a known histogram and counter, run by the browser itself.
_ARITHMETIC_SCRIPT = """
const done = arguments[arguments.length - 1];
import("./samples.js").then(({ quantile, increase, windowStart }) => {
  const histogram = (counts) => ({ at: 0, services: [{ name: "reporter", samples:
    ["0.01", "0.1", "1.0", "+Inf"].map((le, i) => ({
      name: "latency_bucket", labels: { le, category: "events" }, value: counts[i] })) }] });
  const counter = (value) => ({ at: 0, services: [{ name: "gateway", samples: [
    { name: "events_total", labels: { source: "tiktok" }, value }] }] });
  const empty = histogram([0, 0, 0, 0]);
  // Ten observations: two up to 10 ms, six up to 100 ms, two up to 1 s.
  const ten = histogram([2, 8, 10, 10]);
  done({
    p50: quantile(0.5, empty, ten, "latency", { category: "events" }),
    p95: quantile(0.95, empty, ten, "latency", { category: "events" }),
    quiet: quantile(0.5, ten, ten, "latency", { category: "events" }),
    overflow: quantile(0.5, empty, histogram([0, 0, 0, 5]), "latency", {}),
    grown: increase(counter(10), counter(25), "events_total"),
    restarted: increase(counter(10), counter(3), "events_total"),
    window: windowStart([0, 10, 20, 70, 80].map((at) => ({ at })), 60).at,
  });
});
"""


async def test_the_pages_promql_arithmetic(system: dict[str, Child], page: DashboardPage) -> None:
    """Quantiles interpolate inside their bucket as `histogram_quantile` does, and a counter
    that went down counts as restarted, as `increase` does."""
    await asyncio.to_thread(page.open, system[REPORTER].url(PATH))
    results = await asyncio.to_thread(page.run, _ARITHMETIC_SCRIPT)
    assert results["p50"] == pytest.approx(0.01 + 0.09 * 3 / 6)
    assert results["p95"] == pytest.approx(0.1 + 0.9 * 1.5 / 2)
    assert results["quiet"] is None
    assert results["overflow"] == 1.0  # past the last finite bound: that bound
    assert (results["grown"], results["restarted"]) == (15, 3)
    assert results["window"] == 20
