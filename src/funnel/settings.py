"""Settings every service shares; each service extends them with its own knobs.

Values come from environment variables (`APP_ENV`, `LOG_LEVEL`, ...). Per-environment
defaults live in `config/<env>.env`, which `funnel up` and docker-compose load into the
environment; the settings object itself never reads files, so what a process runs with is
always what its environment says.
"""

import re
from datetime import timedelta
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BeforeValidator, ByteSize, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from funnel.reporting import REPEAT_USER_WINDOW

AppEnv = Literal["development", "staging", "production"]
LogFormat = Literal["json", "console"]


_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> object:
    """`90s`, `15m`, `12h`, `7d` (or plain seconds) as a timedelta; anything else unchanged,
    for pydantic to refuse with its own message."""
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    if isinstance(value, str) and (match := _DURATION.fullmatch(value.lower())):
        return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    return value


#: A duration written as `90s`, `15m`, `12h` or `7d`.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    app_env: AppEnv = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat | None = Field(
        default=None, description="json or console; by default console in development only"
    )
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    shutdown_grace_seconds: float = Field(
        default=25.0, gt=0, description="upper bound on finishing in-flight work at shutdown"
    )
    shutdown_delay_seconds: float = Field(
        default=0.0,
        ge=0,
        description="time between turning not-ready and closing the listener, for load balancers",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return upper_level(value)

    @property
    def effective_log_format(self) -> LogFormat:
        return log_format_for(self.app_env, self.log_format)


def upper_level(value: object) -> object:
    """`LOG_LEVEL=info` means INFO: level names are accepted in any case."""
    return value.upper() if isinstance(value, str) else value


def log_format_for(app_env: AppEnv, log_format: LogFormat | None) -> LogFormat:
    """`LOG_FORMAT` when set, else console lines in development and JSON elsewhere."""
    if log_format is not None:
        return log_format
    return "console" if app_env == "development" else "json"


#: Byte bounds of the streams where nothing else names them; JetStream reserves a stream's
#: `max_bytes` on disk up front, so they stay small (deployments set their own).
DEFAULT_STREAM_MAX_BYTES: Final = 1024**3
DEFAULT_DEAD_LETTER_MAX_BYTES: Final = 256 * 1024**2


class NatsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    funnel_namespace: str = Field(
        default="", description="prefix of every stream and subject name; empty in production"
    )
    stream_max_age_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    stream_replicas: int = Field(default=1, ge=1, le=5)
    stream_max_bytes: ByteSize = Field(
        default=ByteSize(DEFAULT_STREAM_MAX_BYTES),
        gt=0,
        description="EVENTS holds at most this much backlog (`2GB`, `500MiB`); when full, the "
        "gateway answers 503 instead of the stream dropping what it acknowledged",
    )
    dead_letter_max_bytes: ByteSize = Field(
        default=ByteSize(DEFAULT_DEAD_LETTER_MAX_BYTES),
        gt=0,
        description="DEAD_LETTERS keeps at most this much; the oldest letters go first",
    )


class RetentionSettings(BaseSettings):
    """How long and how much raw event history PostgreSQL keeps (summaries keep counting)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    events_retention_time: Duration = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        description="raw events stay at least this long after they arrive (`90s`, `12h`, `7d`)",
    )
    events_retention_size: ByteSize | None = Field(
        default=None,
        gt=0,
        description="raw partitions together stay under this (`500MB`, `20GB`); none: no bound",
    )
    events_partition_width: Duration | None = Field(
        default=None,
        gt=timedelta(0),
        description="time span of one partition; by default half the retention time, "
        "between one minute and one hour",
    )
    retention_interval_seconds: float = Field(
        default=10.0, gt=0, description="how often partitions are made ahead and dropped behind"
    )
    summary_second_retention: Duration = Field(
        default=timedelta(days=2),
        gt=timedelta(0),
        description="per-second summary rows kept this long; older ranges answer at minutes",
    )
    summary_minute_retention: Duration = Field(
        default=timedelta(days=35),
        gt=timedelta(0),
        description="per-minute summary rows (and city sketches) kept this long",
    )
    summary_hour_retention: Duration = Field(
        default=timedelta(days=400),
        gt=timedelta(0),
        description="per-hour summary rows kept this long; per-day rows are kept for good",
    )

    @property
    def partition_width(self) -> timedelta:
        if self.events_partition_width is not None:
            return self.events_partition_width
        # Each partition holding events is one more lookup per new event for the repeat-user
        # probe: a fifth of a 5-minute retention kept 6-7 of them, at ~1.5 us each; a half
        # keeps 3-4, and raw events stay at most half the retention longer.
        wanted = self.events_retention_time / 2
        return max([_WIDTHS[0], *(width for width in _WIDTHS if width <= wanted)])


# Partition widths chosen by default: each divides an hour, so partitions align on hours.
_WIDTHS: Final = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30, 60))


class RepeatUserSettings(BaseSettings):
    """How far apart two events of one user may be and still be known as one user's: read
    alike by the collectors (which find repeat users) and the reporter (which says when a
    count of users is exact)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    repeat_user_window: Duration = Field(
        default=REPEAT_USER_WINDOW,
        gt=timedelta(0),
        description="demographics count a user once over any range up to this long; each new "
        "event probes the partitions this far either side of it (`30m`, `1h`, `6h`)",
    )


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/funnel"

    @field_validator("database_url")
    @classmethod
    def _libpq_form(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("postgresql", "postgres"):
            raise ValueError("DATABASE_URL must be postgresql://user:pass@host:port/db")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """The same URL with the asyncpg driver named, as SQLAlchemy wants it."""
        return to_sqlalchemy_url(self.database_url)


def to_sqlalchemy_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, parts.query, parts.fragment))
