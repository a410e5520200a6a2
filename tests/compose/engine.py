"""The Docker engine and Compose v2 the compose test runs on: installed and started if missing.

Debian bookworm's own `docker.io` (20.10) is too old for the compose files
(`healthcheck.start_interval` needs Engine 25) and bookworm has no Compose v2, so both come
from Debian's next release through a temporary source list that touches none of apt's own
state: `docker.io` installed with its dependencies from this release, and of
`docker-compose` only the plugin binary. An engine that already answers is used as it is;
one started here is stopped by its pid at the end.
"""

import asyncio
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Final, Self

from tests.compose.command import CommandError, executable, run

MIN_ENGINE: Final = (25, 0)
MIN_COMPOSE: Final = (2, 24, 4)
_NEXT_RELEASE: Final = {"bookworm": "trixie"}
_PLUGIN: Final = Path("/usr/local/lib/docker/cli-plugins/docker-compose")
_KEYRING: Final = "/usr/share/keyrings/debian-archive-keyring.gpg"
# Tools of this release the test needs beside the engine: the stand-ins' base is made with
# debootstrap.
_APT_TOOLS: Final = {"debootstrap": "debootstrap"}


def version_of(text: str) -> tuple[int, ...]:
    """The first dotted version number in `text`, as integers; () when there is none."""
    match = re.search(r"\d+(?:\.\d+)+", text)
    return tuple(int(part) for part in match[0].split(".")) if match else ()


def shown(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


async def _version(*command: str) -> tuple[int, ...]:
    try:
        result = await run(*command, within=60, check=False)
    except CommandError:  # not installed
        return ()
    return version_of(result.text) if result.code == 0 else ()


def _codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip('"')
    raise CommandError("/etc/os-release names no VERSION_CODENAME")


async def _archive_uri(codename: str) -> str:
    """The address of this machine's Debian archive, as its own apt sources give it."""
    targets = await run("apt-get", "indextargets", "--format", "$(REPO_URI) $(CODENAME)")
    for line in targets.text.splitlines():
        uri, _, name = line.partition(" ")
        if name == codename:
            return uri
    raise CommandError(f"no apt source for {codename}")


async def _download_from_next_release(package: str, into: Path) -> Path:
    """`apt-get download` `package` from the next Debian release, with apt's state in `into`."""
    codename = _codename()
    following = _NEXT_RELEASE.get(codename)
    if following is None:
        raise CommandError(f"no newer Docker for Debian {codename!r} is known to this test")
    sources = into / "sources.list"
    uri = await _archive_uri(codename)
    sources.write_text(f"deb [signed-by={_KEYRING}] {uri} {following} main\n")
    (into / "lists" / "partial").mkdir(parents=True)
    options = [
        f"-oDir::Etc::SourceList={sources}",
        "-oDir::Etc::SourceParts=/dev/null",
        f"-oDir::State::Lists={into / 'lists'}",
        # Empty cache paths: the next release's package lists never replace this machine's.
        "-oDir::Cache::pkgcache=",
        "-oDir::Cache::srcpkgcache=",
        "-oAPT::Sandbox::User=root",
    ]
    await run("apt-get", *options, "update", "-qq")
    await run("apt-get", *options, "download", package, cwd=into)
    (deb,) = await asyncio.to_thread(lambda: list(into.glob(f"{package}_*.deb")))
    return deb


async def install() -> list[str]:
    """Install what is missing or too old; what was installed, for the report."""
    if os.geteuid() != 0:
        raise CommandError("run as root: it installs Debian packages and starts dockerd")
    installed: list[str] = []
    missing = [package for tool, package in _APT_TOOLS.items() if not shutil.which(tool)]
    if missing:
        await run("apt-get", "update", "-qq")
        await run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing)
        installed.extend(missing)
    if (await _version("dockerd", "--version"))[:2] < MIN_ENGINE:
        with tempfile.TemporaryDirectory() as temporary:
            deb = await _download_from_next_release("docker.io", Path(temporary))
            # A local .deb through apt, so its dependencies come from this release.
            await run("apt-get", "install", "-y", "-qq", "--no-install-recommends", deb)
        installed.append(f"docker.io {deb.name.split('_')[1]}")
    if await _version("docker", "compose", "version", "--short") < MIN_COMPOSE:
        with tempfile.TemporaryDirectory() as temporary:
            deb = await _download_from_next_release("docker-compose", Path(temporary))
            unpacked = Path(temporary) / "unpacked"
            await run("dpkg-deb", "-x", deb, unpacked)
            _PLUGIN.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(unpacked / "usr/libexec/docker/cli-plugins/docker-compose", _PLUGIN)
        installed.append(f"compose plugin {deb.name.split('_')[1]}")
    return installed


class Engine:
    """The engine `docker` talks to: the one already running, else a `dockerd` started here."""

    def __init__(self, log_path: Path) -> None:
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self.version: tuple[int, ...] = ()
        self.compose_version: tuple[int, ...] = ()

    @property
    def started_here(self) -> bool:
        return self._process is not None

    async def __aenter__(self) -> Self:
        if not await self._answers():
            self._log = self._log_path.open("ab")
            self._process = await asyncio.create_subprocess_exec(
                executable("dockerd"),
                stdout=self._log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + 60
            while not await self._answers():
                if self._process.returncode is not None or time.monotonic() > deadline:
                    await self.__aexit__()
                    tail = self._log_path.read_text(errors="replace").splitlines()[-10:]
                    raise CommandError("dockerd did not start:\n" + "\n".join(tail))
                await asyncio.sleep(0.5)
        server = await run("docker", "version", "--format", "{{json .Server}}")
        self.version = version_of(json.loads(server.text)["Version"])
        self.compose_version = await _version("docker", "compose", "version", "--short")
        if self.version[:2] < MIN_ENGINE or self.compose_version < MIN_COMPOSE:
            await self.__aexit__()
            raise CommandError(
                f"Docker Engine {shown(self.version)} / Compose {shown(self.compose_version)}:"
                f" {shown(MIN_ENGINE)} / {shown(MIN_COMPOSE)} or newer needed"
            )
        return self

    async def __aexit__(self, *_: object) -> None:
        """Stop the dockerd started here (it stops its containers first)."""
        if self._process is not None:
            self._process.terminate()
            try:
                async with asyncio.timeout(90):
                    await self._process.wait()
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    @staticmethod
    async def _answers() -> bool:
        try:
            result = await run("docker", "info", "--format", "{{.ServerVersion}}", check=False)
        except CommandError:
            return False
        return result.code == 0
