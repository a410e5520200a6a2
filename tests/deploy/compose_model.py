"""The compose files as docker compose reads them: YAML with `!reset`/`!override`, merged.

Only the parts of the Compose specification these files use are modelled: mappings merge
key by key; sequences append, except `command`, `entrypoint` and `healthcheck.test` (the
last file wins) and service `volumes` (unique by container path); `!reset` removes a value
and `!override` replaces it. `${VAR}`, `${VAR:-default}` and `${VAR:?message}` interpolate.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE_FILE = ROOT / "compose.yaml"
OVERRIDE_FILES = {
    "staging": ROOT / "compose.staging.yaml",
    "production": ROOT / "compose.production.yaml",
}
# Added last, to any environment, when PostgreSQL and NATS should be reachable from the host.
PORTS_FILE = ROOT / "compose.ports.yaml"

_REPLACED_KEYS = frozenset({"command", "entrypoint", "test"})
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


@dataclass(frozen=True)
class Tagged:
    """A value carrying compose's merge tag: `reset` or `override`."""

    kind: str
    value: Any


class MissingVariableError(KeyError):
    """A `${VAR:?message}` whose variable is unset or empty."""


class _ComposeLoader(yaml.SafeLoader):
    pass


def _tagged(kind: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Tagged:
        value: Any
        if isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:
            value = loader.construct_scalar(node)  # type: ignore[arg-type]
        return Tagged(kind, value)

    return construct


_ComposeLoader.add_constructor("!reset", _tagged("reset"))
_ComposeLoader.add_constructor("!override", _tagged("override"))


def load(path: Path) -> dict[str, Any]:
    """One compose file, tags kept as `Tagged` values."""
    document = yaml.load(path.read_text(), Loader=_ComposeLoader)  # noqa: S506 - safe loader
    assert isinstance(document, dict), f"{path.name} is not a mapping"
    return document


def plain(value: Any) -> Any:
    """`value` with every tag dropped: what the file says on its own."""
    if isinstance(value, Tagged):
        return plain(value.value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _volume_target(volume: Any) -> str:
    if isinstance(volume, dict):
        return str(volume["target"])
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _merge_sequences(key: str | None, base: list[Any], override: list[Any]) -> list[Any]:
    if key == "volumes":
        replaced = {_volume_target(item) for item in override}
        return [item for item in base if _volume_target(item) not in replaced] + override
    return base + [item for item in override if item not in base]


def merge(base: Any, override: Any, key: str | None = None) -> Any:
    """`override` merged onto `base` by compose's rules (see the module docstring)."""
    if isinstance(override, Tagged):
        return override if override.kind == "reset" else plain(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            result = merge(merged[name], value, name) if name in merged else merge(None, value)
            if isinstance(result, Tagged):  # only `reset` survives merge()
                merged.pop(name, None)
            else:
                merged[name] = result
        return merged
    sequences = (
        key not in _REPLACED_KEYS
        and isinstance(base, list | str)
        and isinstance(override, list | str)
        and (isinstance(base, list) or isinstance(override, list))
    )
    if sequences:
        return _merge_sequences(
            key,
            base if isinstance(base, list) else [base],
            override if isinstance(override, list) else [override],
        )
    return plain(override)


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    """`value` with `${...}` references replaced from `environ`, as compose does."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = environ.get(name, "")
        if op == ":?" and not current:
            raise MissingVariableError(f"{name}: {arg}")
        if op == ":-" and not current:
            return arg
        return current

    return _VARIABLE.sub(replace, value)


def model(
    environment: str, environ: Mapping[str, str] | None = None, extra: Sequence[Path] = ()
) -> dict[str, Any]:
    """The merged, interpolated model for `development`, `staging` or `production`, with the
    `extra` files merged last."""
    merged = plain(load(BASE_FILE))
    if environment != "development":
        merged = merge(merged, load(OVERRIDE_FILES[environment]))
    for path in extra:
        merged = merge(merged, load(path))
    return dict(interpolate(merged, environ or {}))


def env_files(service: Mapping[str, Any]) -> list[Path]:
    """The service's `env_file` entries as paths (relative to the base file)."""
    entries = service.get("env_file", [])
    entries = entries if isinstance(entries, list) else [entries]
    paths = [entry["path"] if isinstance(entry, dict) else entry for entry in entries]
    return [ROOT / path for path in paths]


def seconds(duration: str | int | float) -> float:
    """A compose duration (`75s`, `1m30s`, `500ms`) in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)
