"""The dashboard's settings: which services its live panels read, and how patiently."""

import json
from collections.abc import Mapping
from typing import Final

from pydantic import Field, HttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The environment variable naming the services, a JSON object of name to base URL.
SERVICES_VARIABLE: Final = "DASHBOARD_SERVICES"


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    dashboard_services: dict[str, HttpUrl] = Field(
        default_factory=dict,
        description="name -> base URL of each service whose /metrics and /health/ready the "
        "live panels show, in display order; empty turns the live panels off",
    )
    dashboard_timeout_seconds: float = Field(
        default=3.0, gt=0, description="how long one service may take to answer one question"
    )


def services_environment(urls: Mapping[str, str]) -> dict[str, str]:
    """The environment that makes `DashboardSettings` read `urls` (name -> base URL)."""
    return {SERVICES_VARIABLE: json.dumps(dict(urls))}
