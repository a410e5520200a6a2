"""The reporter serves the page, every file it loads, and the catalog its form offers; the
page names nothing outside its own origin, so it works with the network cable pulled."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import funnel.dashboard
from funnel.reporter.catalog import EVENT_KINDS, INTERVALS
from tests.reporter.conftest import running_reporter
from tests.test_layout import PACKAGE, SERVICES, _imported_funnel_packages

STATIC = Path(funnel.dashboard.__file__).parent / "static"
# The page's own files; uPlot's are as released, URLs in its comments included.
OWN = [path for path in STATIC.iterdir() if path.is_file()]
_LOADED = re.compile(r'(?:src|href)="([^"]+)"')
_IMPORTED = re.compile(r'from "(\./[^"]+)"')


@pytest.fixture
async def client(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A reporter as compose runs it: no services named for the live panels."""
    monkeypatch.delenv("DASHBOARD_SERVICES", raising=False)
    async with running_reporter(database_url) as client:
        yield client


def _references(path: Path) -> set[str]:
    """What a page file loads: `src`/`href` in HTML, relative imports in modules."""
    text = path.read_text()
    pattern = _LOADED if path.suffix == ".html" else _IMPORTED
    return {ref.removeprefix("./") for ref in pattern.findall(text) if not ref.startswith("data:")}


async def test_the_page_and_every_file_it_loads_are_served(client: httpx.AsyncClient) -> None:
    """`/dashboard` leads to the page; each file it loads, transitively, answers with its type."""
    redirect = await client.get("/dashboard")
    assert redirect.status_code in (301, 307)
    assert redirect.headers["location"].endswith("/dashboard/")
    page = await client.get("/dashboard/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    waiting, seen = _references(STATIC / "index.html"), set()
    while waiting:
        name = waiting.pop()
        seen.add(name)
        response = await client.get(f"/dashboard/{name}")
        assert response.status_code == 200, name
        kind = {".js": "text/javascript", ".css": "text/css"}[Path(name).suffix]
        assert response.headers["content-type"].startswith(kind), name
        if name.endswith(".js") and not name.startswith("uplot/"):
            waiting |= _references(STATIC / name) - seen
    assert {"main.js", "live.js", "reports.js", "uplot/uPlot.iife.min.js"} <= seen


def test_own_files_name_no_other_origin() -> None:
    """No CDN, no font or script from elsewhere: every URL in the page's own files is relative."""
    for path in OWN:
        text = path.read_text()
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), path.name
    for name in _references(STATIC / "index.html"):
        assert not name.startswith(("/", "http")), name


def test_uplot_ships_with_its_licence_and_version() -> None:
    """uPlot comes as released: its MIT licence beside it, the version named in both places."""
    folder = STATIC / "uplot"
    assert "MIT License" in (folder / "LICENSE").read_text()
    version = re.search(r"\(v(\d+\.\d+\.\d+)\)", (folder / "uPlot.iife.min.js").read_text()[:200])
    assert version is not None
    assert f"uPlot {version[1]}" in (folder / "README.md").read_text()


async def test_the_catalog_is_the_reporters(client: httpx.AsyncClient) -> None:
    """The form offers exactly the event kinds and intervals the reports accept."""
    catalog = (await client.get("/dashboard/api/catalog")).json()
    kinds = [(k["source"], k["funnelStage"], k["eventType"]) for k in catalog["eventKinds"]]
    assert kinds == list(EVENT_KINDS)
    assert catalog["intervals"] == list(INTERVALS)


async def test_without_services_the_live_panels_are_off(client: httpx.AsyncClient) -> None:
    """Under compose no services are named: the live answer is empty, the reports still work."""
    live = await client.get("/dashboard/api/live")
    assert live.status_code == 200
    assert live.json()["services"] == []
    assert (await client.get("/reports/events")).status_code == 200


async def test_the_page_is_not_in_the_report_api_schema(client: httpx.AsyncClient) -> None:
    """OpenAPI at /docs documents the reports and health, not the page's own helpers."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/dashboard")]


def test_the_dashboard_imports_no_service() -> None:
    """The reporter mounts the page, so the page's package may import shared ones only."""
    found = {
        f"{path.name} imports funnel.{name}"
        for path in (PACKAGE / "dashboard").rglob("*.py")
        for name in _imported_funnel_packages(path) & SERVICES
    }
    assert found == set()
