"""Shared settings: environment variables in, typed values and reasons out."""

import pytest
from pydantic import ValidationError

from funnel.settings import DatabaseSettings, RetentionSettings, ServiceSettings, parse_duration


def test_log_format_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Console lines in development, JSON elsewhere, unless LOG_FORMAT says otherwise."""
    monkeypatch.setenv("APP_ENV", "production")
    assert ServiceSettings().effective_log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "console")
    assert ServiceSettings().effective_log_format == "console"
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("LOG_FORMAT")
    assert ServiceSettings().effective_log_format == "console"


def test_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """APP_ENV accepts only development, staging and production."""
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ValidationError, match="app_env"):
        ServiceSettings()


def test_database_url_gets_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """The libpq URL, socket directories included, becomes an asyncpg SQLAlchemy URL."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@/funnel?host=/run/pg")
    settings = DatabaseSettings()
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u:p@/funnel?host=/run/pg"


def test_database_url_must_be_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL of another scheme is refused with the expected form in the message."""
    monkeypatch.setenv("DATABASE_URL", "mysql://u@h/db")
    with pytest.raises(ValidationError, match=r"postgresql://user:pass@host:port/db"):
        DatabaseSettings()


@pytest.mark.parametrize(
    ("retention", "width"),
    [("90s", "1m"), ("5m", "2m"), ("10m", "5m"), ("1h", "30m"), ("7d", "1h")],
)
def test_partition_width_is_half_the_retention_within_bounds(
    monkeypatch: pytest.MonkeyPatch, retention: str, width: str
) -> None:
    """The widest of 1, 2, 5, 10, 15, 30, 60 minutes within half the retention time."""
    monkeypatch.setenv("EVENTS_RETENTION_TIME", retention)
    assert RetentionSettings().partition_width == parse_duration(width)


def test_a_partition_width_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_RETENTION_TIME", "5m")
    monkeypatch.setenv("EVENTS_PARTITION_WIDTH", "1m")
    assert RetentionSettings().partition_width == parse_duration("1m")
