"""`config/<env>.env`: plain KEY=value files that compose and `funnel up` both read."""

import pytest

from funnel.local.environment import read_env_file
from funnel.settings import NatsSettings, ServiceSettings
from tests.deploy.compose_model import ROOT

ENVIRONMENTS = ("development", "staging", "production")


def _values(environment: str) -> dict[str, str]:
    return read_env_file(ROOT / "config" / f"{environment}.env")


def _settings_kwargs(values: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in values.items()}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_values_are_valid_settings(environment: str) -> None:
    """Every value passes the shared settings' validation and names its own environment."""
    values = _values(environment)
    service = ServiceSettings(**_settings_kwargs(values))  # type: ignore[arg-type]
    nats = NatsSettings(**_settings_kwargs(values))  # type: ignore[arg-type]
    assert service.app_env == environment
    assert nats.funnel_namespace == ""
    assert nats.stream_replicas == 1  # `funnel up` runs one NATS server


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_files_are_plain(environment: str) -> None:
    """No interpolation, no addresses: the local runner reads these files too."""
    values = _values(environment)
    assert [key for key, value in values.items() if "$" in value] == []
    assert not {"NATS_URL", "DATABASE_URL", "PORT", "HOST"} & set(values)


def test_environments_set_the_same_keys() -> None:
    """Switching environments changes values, never which settings are pinned."""
    keys = {environment: set(_values(environment)) for environment in ENVIRONMENTS}
    assert keys["development"] == keys["staging"] == keys["production"]


def test_environments_differ_as_documented() -> None:
    """Console logs in development, JSON elsewhere; production keeps 7 days and drains longest."""
    development, staging, production = (_values(e) for e in ENVIRONMENTS)
    assert development["LOG_FORMAT"] == "console"
    assert staging["LOG_FORMAT"] == production["LOG_FORMAT"] == "json"
    assert float(production["STREAM_MAX_AGE_SECONDS"]) == 7 * 24 * 3600
    grace = [float(v["SHUTDOWN_GRACE_SECONDS"]) for v in (development, staging, production)]
    assert grace == sorted(grace)
