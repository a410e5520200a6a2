"""Settings every service shares; each service extends them with its own knobs.

Values come from environment variables (`APP_ENV`, `LOG_LEVEL`, ...). Per-environment
defaults live in `config/<env>.env`, which `funnel up` and docker-compose load into the
environment; the settings object itself never reads files, so what a process runs with is
always what its environment says.
"""

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AppEnv = Literal["development", "staging", "production"]
LogFormat = Literal["json", "console"]


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


class NatsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    funnel_namespace: str = Field(
        default="", description="prefix of every stream and subject name; empty in production"
    )
    stream_max_age_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    stream_replicas: int = Field(default=1, ge=1, le=5)


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
