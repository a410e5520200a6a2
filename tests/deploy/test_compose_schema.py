"""The compose files are valid by the Compose specification's own JSON schema."""

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.deploy.compose_model import (
    BASE_FILE,
    OVERRIDE_FILES,
    PORTS_FILE,
    MissingVariableError,
    load,
    model,
    plain,
)
from tests.deploy.conftest import SECRETS

# check-jsonschema ships a current copy of the compose-spec schema.
_SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((resources.files(_SCHEMA_PACKAGE) / "compose-spec.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


@pytest.mark.parametrize(
    "path", [BASE_FILE, *OVERRIDE_FILES.values(), PORTS_FILE], ids=lambda path: Path(path).name
)
def test_each_file_is_valid_on_its_own(
    validator: jsonschema.protocols.Validator, path: Path
) -> None:
    """Every compose file, override files included, validates against the schema."""
    assert _errors(validator, plain(load(path))) == []


def test_merged_model_is_valid(
    validator: jsonschema.protocols.Validator, compose: dict[str, Any]
) -> None:
    """The base file merged with each environment's override validates too."""
    assert _errors(validator, compose) == []


def test_merged_model_with_host_ports_is_valid(
    validator: jsonschema.protocols.Validator, environment: str
) -> None:
    """compose.ports.yaml merged last onto each environment validates too."""
    assert _errors(validator, model(environment, SECRETS, extra=[PORTS_FILE])) == []


def test_validation_catches_a_broken_file(validator: jsonschema.protocols.Validator) -> None:
    """The schema check is real: a misspelt condition and a stray key are reported."""
    broken = model("development")
    broken["services"]["gateway"]["depends_on"]["nats"]["condition"] = "service_up"
    broken["services"]["gateway"]["healthcheck"]["intervall"] = "5s"
    assert len(_errors(validator, broken)) >= 2


def test_production_requires_its_passwords() -> None:
    """Production refuses to start without POSTGRES_PASSWORD and GRAFANA_ADMIN_PASSWORD."""
    with pytest.raises(MissingVariableError, match="POSTGRES_PASSWORD"):
        model("production", {"GRAFANA_ADMIN_PASSWORD": "x"})
    with pytest.raises(MissingVariableError, match="GRAFANA_ADMIN_PASSWORD"):
        model("production", {"POSTGRES_PASSWORD": "x"})
