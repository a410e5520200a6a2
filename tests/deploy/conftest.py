"""Fixtures for the deployment files: merged compose models and the external checkers.

`promtool` (Debian's `prometheus` package) and `nginx` are not Python packages: a test that
needs one is skipped, saying so, when it is missing, and fails instead under CI (`CI` set),
where `.ci/run` installs both.
"""

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.compose_model import model

ENVIRONMENTS = ("development", "staging", "production")
# The variables compose.production.yaml requires; any non-empty value will do here.
SECRETS = {"POSTGRES_PASSWORD": "test-password", "GRAFANA_ADMIN_PASSWORD": "test-password"}


@pytest.fixture(params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    """Each deployment environment in turn."""
    name: str = request.param
    return name


@pytest.fixture
def compose(environment: str) -> dict[str, Any]:
    """The merged compose model of `environment`, its required secrets set."""
    return model(environment, SECRETS)


def _tool(name: str) -> Path:
    # nginx lives in /usr/sbin, which is not on every user's PATH.
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if found is None:
        reason = f"{name} is not installed (a Debian package; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(found)


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Debian's promtool."""
    return _tool("promtool")


@pytest.fixture(scope="session")
def nginx() -> Path:
    """Debian's nginx binary, used only for `nginx -t`."""
    return _tool("nginx")
