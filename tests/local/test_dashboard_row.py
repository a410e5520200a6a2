"""`funnel up` shows the dashboard first in its table and tells the reporter where every
service listens, in the variable the dashboard reads."""

import pytest

from funnel.dashboard import DashboardSettings
from funnel.local.services import address_rows, dashboard_environment, services


def test_the_dashboard_is_the_first_address() -> None:
    """The page a person wants first heads the table, served by the reporter."""
    rows = address_rows(
        services(4000),
        nats_url="nats://n",
        nats_monitor_url=None,
        database_url="postgresql://d",
        data_dir="/d",
    )
    assert rows[0] == ("dashboard", "reporter", "http://127.0.0.1:4003/dashboard/")


def test_the_reporter_learns_every_service_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment `funnel up` gives its children names the four services, in order."""
    for name, value in dashboard_environment(services(4000)).items():
        monkeypatch.setenv(name, value)
    named = DashboardSettings().dashboard_services
    assert {name: str(url).rstrip("/") for name, url in named.items()} == {
        "gateway": "http://127.0.0.1:4000",
        "fb-collector": "http://127.0.0.1:4001",
        "ttk-collector": "http://127.0.0.1:4002",
        "reporter": "http://127.0.0.1:4003",
    }
    assert list(named) == ["gateway", "fb-collector", "ttk-collector", "reporter"]
