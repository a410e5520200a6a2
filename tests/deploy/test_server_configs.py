"""NATS and nginx configuration files pass their own servers' checks."""

import re
import subprocess
from pathlib import Path

import pytest

from funnel.local.nats import CONFIG_FILE as LOCAL_NATS_CONFIG
from funnel.local.nats import nats_server_binary
from tests.deploy.compose_model import ROOT

NATS_CONFIGS = sorted((ROOT / "deploy" / "nats").glob("*.conf"))
SYNC_ALWAYS = re.compile(r"jetstream\s*\{[^}]*\bsync_interval:\s*always\b")


def _run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("path", [*NATS_CONFIGS, LOCAL_NATS_CONFIG], ids=lambda p: Path(p).name)
def test_every_nats_config_fsyncs_before_acknowledging(path: Path) -> None:
    """Every NATS config Funnel ships sets `jetstream { sync_interval: always }`."""
    assert SYNC_ALWAYS.search(path.read_text()), path


@pytest.mark.parametrize("path", NATS_CONFIGS, ids=lambda p: Path(p).name)
def test_nats_server_accepts_the_config(path: Path) -> None:
    """`nats-server -t` (the release local mode pins) accepts each deploy config."""
    output = _run(
        nats_server_binary(), "-c", path, "-t", env={"NATS_SERVER_NAME": "nats-2", "PATH": ""}
    )
    assert "is valid" in output


def test_nats_server_rejects_a_broken_config(tmp_path: Path) -> None:
    """The check above is real: nats-server refuses an unknown sync_interval value."""
    broken = tmp_path / "broken.conf"
    broken.write_text((ROOT / "deploy/nats/nats.conf").read_text().replace("always", "sometimes"))
    result = subprocess.run(
        [str(nats_server_binary()), "-c", str(broken), "-t"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode != 0


def test_nginx_accepts_the_load_balancer_config(nginx: Path, tmp_path: Path) -> None:
    """`nginx -t` accepts the gateway load balancer's server blocks."""
    include = ROOT / "deploy" / "nginx" / "gateway-lb.conf"
    temp_paths = "\n".join(
        f"  {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n{temp_paths}\n  include {include};\n}}\n"
    )
    _run(nginx, "-t", "-q", "-p", tmp_path, "-e", "stderr", "-c", main)
