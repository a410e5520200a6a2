"""The dashboard page in headless Chromium, driven through WebDriver (selenium).

Every name a page resolves, other than this machine's address, fails: the page must work with
the network cable pulled. What the panels show is read in one script call, as plain data.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.select import Select

_WIDTH: Final = 1400
_POLL_SECONDS: Final = 0.5
_T = TypeVar("_T")

# Plain data from every panel: what a person would read, and how many points each chart drew.
_PANELS_SCRIPT: Final = """
const text = (id) => document.getElementById(id)?.textContent.trim() ?? null;
const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)]
  .map((tr) => [...tr.cells].map((td) => td.textContent.trim()));
const points = (id) => Number(document.getElementById(id).dataset.points ?? 0);
return {
  gateway: ["accepted", "processed", "failed"].map((kind) => text(`gw-${kind}`)),
  ratesPoints: points("chart-rates"),
  latencyPoints: points("chart-latency"),
  readiness: [...document.querySelectorAll("#readiness tbody tr")]
    .map((tr) => [tr.dataset.service, tr.dataset.ready]),
  collectors: rows("collectors"),
  storage: rows("storage"),
  retention: rows("retention"),
  query: document.getElementById("reports").dataset.query ?? null,
  eventsTotal: text("events-total"),
  eventsPoints: points("chart-events"),
  eventTypes: rows("events-table").length,
  revenue: text("revenue-total"),
  transactions: text("revenue-transactions"),
  campaigns: rows("top-campaigns").length,
  facebookUsers: text("facebook-users"),
  tiktokUsers: text("tiktok-users"),
  bars: document.querySelectorAll("#demographics .bar").length,
  errors: text("report-errors"),
};
"""


@dataclass(frozen=True, slots=True)
class Chromium:
    """Where the browser and its WebDriver are."""

    browser: Path
    driver: Path


class DashboardPage:
    """One browser on the dashboard; every method blocks (call it from a thread)."""

    def __init__(self, chromium: Chromium) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = str(chromium.browser)
        for argument in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
            "--disable-dev-shm-usage",
            "--disable-gpu",
            f"--window-size={_WIDTH},1800",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self._driver = webdriver.Chrome(
            service=Service(executable_path=str(chromium.driver)), options=options
        )

    def close(self) -> None:
        self._driver.quit()

    def open(self, url: str) -> None:
        self._driver.get(url)

    @property
    def url(self) -> str:
        return str(self._driver.current_url)

    def panels(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._driver.execute_script(_PANELS_SCRIPT))

    def run(self, script: str) -> dict[str, Any]:
        """An asynchronous script's result (it calls its last argument with it)."""
        return cast(dict[str, Any], self._driver.execute_async_script(script))

    def until(self, read: Callable[[], _T], accept: Callable[[_T], bool], within: float) -> _T:
        """Read until `accept` says yes; past `within` seconds, fail showing the last read."""
        deadline = time.monotonic() + within
        while True:
            value = read()
            if accept(value):
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"not within {within:g}s; last seen: {value!r}")
            time.sleep(_POLL_SECONDS)

    def choose(self, field: str, value: str) -> None:
        """Pick `value` in the form's `field` select, as a person would."""
        Select(self._driver.find_element("name", field)).select_by_value(value)

    def field(self, name: str) -> str:
        return str(self._driver.find_element("name", name).get_attribute("value"))

    def foreign_resources(self) -> list[str]:
        """Every resource the page loaded from another origin than its own."""
        found = self._driver.execute_script(
            "return performance.getEntriesByType('resource').map((e) => e.name)"
            ".filter((name) => !name.startsWith(location.origin))"
        )
        return [str(name) for name in found]

    def errors(self) -> list[str]:
        """The console's errors since the last call (script exceptions, failed loads)."""
        return [
            str(entry["message"])
            # selenium declares no types for its logging call.
            for entry in self._driver.get_log("browser")  # type: ignore[no-untyped-call]
            if entry["level"] == "SEVERE"
        ]

    def screenshot(self, path: Path) -> None:
        """The whole page, its full height."""
        height = int(self._driver.execute_script("return document.body.scrollHeight"))
        self._driver.set_window_size(_WIDTH, height + 100)
        self._driver.save_screenshot(str(path))
