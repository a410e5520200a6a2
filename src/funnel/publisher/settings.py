"""The emulator's knobs; the defaults are the upstream publisher image's behaviour.

`EVENT_ENDPOINT` names the webhook, as for the real image, and `APP_ENV`, `LOG_LEVEL`,
`LOG_FORMAT` mean what they mean for every service; the other knobs read `PUBLISHER_*`
variables (`PUBLISHER_MIN_EVENTS`, ...), so a generic name like `SEED` or `URL` in the
environment never leaks in. In Python, every field is set by its name.
"""

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from funnel.settings import AppEnv, LogFormat, log_format_for, upper_level


class PublisherSettings(BaseSettings):
    """What to send where, how often and for how long."""

    model_config = SettingsConfigDict(
        env_prefix="PUBLISHER_",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    url: str = Field(default="http://127.0.0.1:3000/webhook", validation_alias="EVENT_ENDPOINT")
    app_env: AppEnv = Field(default="development", validation_alias="APP_ENV")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )
    log_format: LogFormat | None = Field(default=None, validation_alias="LOG_FORMAT")
    min_events: int = Field(default=1000, ge=0)
    max_events: int = Field(default=50_000, ge=0)
    interval_seconds: float = Field(default=1.0, gt=0)
    duration_seconds: float | None = Field(
        default=None,
        gt=0,
        description="stop after this long; None sends until stopped, like upstream",
    )
    corrupt_ratio: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="probability that a request ends with one corrupted event",
    )
    seed: int | None = Field(
        default=None,
        description="makes sizes, events and corruptions reproducible (timestamps are now)",
    )
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    drain_timeout_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how long requests in flight may finish once sending stops",
    )
    max_in_flight: int = Field(
        default=64,
        ge=1,
        description="requests open at once; a tick finding this many open is skipped",
    )
    max_requests: int | None = Field(
        default=None,
        ge=1,
        description="stop after this many requests; None for no limit",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return upper_level(value)

    @property
    def effective_log_format(self) -> LogFormat:
        """As for every service: console in development, JSON lines elsewhere."""
        return log_format_for(self.app_env, self.log_format)

    @model_validator(mode="after")
    def _sizes_in_order(self) -> Self:
        if self.max_events < self.min_events:
            raise ValueError(
                f"max_events ({self.max_events}) must be at least min_events ({self.min_events})"
            )
        return self
