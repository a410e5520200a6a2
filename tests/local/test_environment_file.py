"""`config/<APP_ENV>.env` is read like compose reads it, and the real environment wins."""

from pathlib import Path

import pytest

from funnel.local.environment import (
    ConfigError,
    find_config_dir,
    read_env_file,
    selected_app_env,
    service_environment,
)


def test_reads_key_value_lines(tmp_path: Path) -> None:
    """Comments, blank lines, `export` and surrounding quotes are handled as compose does."""
    env_file = tmp_path / "development.env"
    env_file.write_text(
        "# a comment\n\nLOG_LEVEL=DEBUG\nexport LOG_FORMAT=console\n"
        "QUOTED=\"a b\"\nSINGLE='c'\nEMPTY=\nWITH_EQUALS=x=y\n"
    )
    assert read_env_file(env_file) == {
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "console",
        "QUOTED": "a b",
        "SINGLE": "c",
        "EMPTY": "",
        "WITH_EQUALS": "x=y",
    }


def test_rejects_a_line_without_equals(tmp_path: Path) -> None:
    """A line that is not KEY=value is an error naming the file and line."""
    env_file = tmp_path / "staging.env"
    env_file.write_text("GOOD=1\nnot a setting\n")
    with pytest.raises(ConfigError, match=r"staging\.env:2"):
        read_env_file(env_file)


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    """Values already set win; the file fills in the rest; APP_ENV is always present."""
    env_file = tmp_path / "development.env"
    env_file.write_text("LOG_LEVEL=DEBUG\nBATCH_SIZE=500\n")
    merged = service_environment(env_file, {"LOG_LEVEL": "WARNING"})
    assert merged["LOG_LEVEL"] == "WARNING"
    assert merged["BATCH_SIZE"] == "500"
    assert merged["APP_ENV"] == "development"


def test_addresses_in_the_file_are_not_used(tmp_path: Path) -> None:
    """The file's NATS_URL, DATABASE_URL, PORT and HOST are compose's, so they are skipped."""
    env_file = tmp_path / "production.env"
    env_file.write_text(
        "NATS_URL=nats://nats:4222\nDATABASE_URL=postgresql://db/funnel\nPORT=80\nHOST=x\nA=1\n"
    )
    merged = service_environment(env_file, {"APP_ENV": "production"})
    assert merged == {"A": "1", "APP_ENV": "production"}


def test_unknown_app_env_is_refused() -> None:
    """APP_ENV must name one of the three environments."""
    with pytest.raises(ConfigError, match="APP_ENV"):
        selected_app_env({"APP_ENV": "qa"})
    assert selected_app_env({}) == "development"


def test_config_dir_in_the_current_directory_comes_first(tmp_path: Path) -> None:
    """`./config` is used when it exists; otherwise the checkout's, if there is one."""
    (tmp_path / "config").mkdir()
    assert find_config_dir(tmp_path) == tmp_path / "config"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = find_config_dir(elsewhere)
    assert found is None or found.name == "config"
