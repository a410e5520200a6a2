"""The environment `funnel up` gives its services: `config/<APP_ENV>.env` under the real one.

`APP_ENV` (default `development`) selects the file. Values already in the environment win
over the file's, so `LOG_LEVEL=DEBUG funnel up` does what it says. The file's `NATS_URL`,
`DATABASE_URL`, `PORT` and `HOST` are skipped: they describe the containers' network, while
`funnel up` chooses those itself.

The config directory is `./config` when it exists (running from a checkout), else the
checkout the package was installed from (an editable install); `--config-dir` names another.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import funnel

DEFAULT_APP_ENV: Final = "development"
APP_ENVS: Final = ("development", "staging", "production")

# Addresses are the runner's to choose: the files' values point at compose service names.
_RUNNER_OWNED: Final = frozenset({"NATS_URL", "DATABASE_URL", "PORT", "HOST"})


class ConfigError(ValueError):
    """The environment file is missing, unreadable or not `KEY=value` lines."""


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines as docker-compose reads them: `#` comments, blanks, optional quotes."""
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise ConfigError(f"{path}:{number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def find_config_dir(cwd: Path | None = None) -> Path | None:
    """`./config`, else the `config/` of the checkout holding this package, else None."""
    here = (cwd or Path.cwd()) / "config"
    if here.is_dir():
        return here
    # src/funnel/__init__.py -> the checkout root is two levels above the package.
    checkout = Path(funnel.__file__).resolve().parents[2] / "config"
    return checkout if checkout.is_dir() else None


def selected_app_env(environ: Mapping[str, str] | None = None) -> str:
    """`APP_ENV` from `environ` (default the process's), checked; `development` when unset."""
    app_env = (os.environ if environ is None else environ).get("APP_ENV") or DEFAULT_APP_ENV
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, not {app_env!r}")
    return app_env


def service_environment(
    env_file: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for every child: `env_file`'s values, then `environ` over them."""
    base = dict(os.environ if environ is None else environ)
    app_env = selected_app_env(base)
    from_file = read_env_file(env_file) if env_file is not None else {}
    merged = {key: value for key, value in from_file.items() if key not in _RUNNER_OWNED}
    merged.update(base)
    merged["APP_ENV"] = app_env
    return merged
