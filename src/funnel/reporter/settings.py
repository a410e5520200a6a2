"""The reporter's settings: the shared service and database ones, plus its own knobs."""

from pydantic import Field

from funnel.settings import DatabaseSettings, RepeatUserSettings, ServiceSettings


class ReporterSettings(ServiceSettings, DatabaseSettings, RepeatUserSettings):
    port: int = Field(default=3003, ge=0, le=65535)
    pool_max_size: int = Field(default=8, ge=1, description="database connections at most")
    startup_timeout_seconds: float = Field(
        default=60.0, ge=0, description="how long start-up waits for the database"
    )
    statement_timeout_seconds: float = Field(
        default=30.0, gt=0, description="a report running longer is cancelled (503)"
    )
