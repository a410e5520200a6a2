"""Fixtures for the collector tests: settings pointing at this test's streams and database."""

from typing import Any

import pytest
from collector_traffic import SettingsFactory

from funnel.collector import CollectorSettings
from funnel.events import Subjects


@pytest.fixture
def collector_settings(nats_url: str, database_url: str, subjects: Subjects) -> SettingsFactory:
    """Build a facebook collector's settings for this test; keyword arguments override."""

    def build(**overrides: Any) -> CollectorSettings:
        values: dict[str, Any] = {
            "collector_source": "facebook",
            "nats_url": nats_url,
            "database_url": database_url,
            "funnel_namespace": subjects.namespace,
            "port": 0,
            "fetch_timeout_seconds": 0.2,
            "nak_delay_seconds": 0.2,
            "lag_interval_seconds": 0.2,
            "shutdown_grace_seconds": 10.0,
            **overrides,
        }
        return CollectorSettings(**values)

    return build
