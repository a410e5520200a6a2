"""Commands run beside `funnel up` find its servers when the environment names none."""

import json
from pathlib import Path

import pytest

from funnel.local.addresses import local_database_url, local_nats_url
from funnel.settings import DatabaseSettings, NatsSettings


@pytest.fixture
def unset_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither NATS_URL nor DATABASE_URL in the environment, as for a user at a shell."""
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.mark.usefixtures("unset_addresses")
def test_the_local_runs_ports_are_used_when_the_environment_names_no_server(
    tmp_path: Path,
) -> None:
    """With `ports.json` in the data dir, its NATS and PostgreSQL are the ones to talk to."""
    (tmp_path / "ports.json").write_text(json.dumps({"nats": 4333, "postgres": 5444}))
    assert local_nats_url(NatsSettings(), tmp_path) == "nats://127.0.0.1:4333"
    assert local_database_url(DatabaseSettings(), tmp_path) == (
        "postgresql://postgres@127.0.0.1:5444/funnel"
    )


@pytest.mark.usefixtures("unset_addresses")
def test_the_defaults_remain_without_a_local_run(tmp_path: Path) -> None:
    """No `ports.json`: the default addresses, as before."""
    assert local_nats_url(NatsSettings(), tmp_path) == NatsSettings().nats_url
    assert local_database_url(DatabaseSettings(), tmp_path) == DatabaseSettings().database_url


def test_the_environment_wins_over_the_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NATS_URL and DATABASE_URL, when set, are used whatever the data dir holds."""
    (tmp_path / "ports.json").write_text(json.dumps({"nats": 4333, "postgres": 5444}))
    monkeypatch.setenv("NATS_URL", "nats://elsewhere:4222")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@elsewhere:5432/db")
    assert local_nats_url(NatsSettings(), tmp_path) == "nats://elsewhere:4222"
    assert local_database_url(DatabaseSettings(), tmp_path) == "postgresql://u@elsewhere:5432/db"
