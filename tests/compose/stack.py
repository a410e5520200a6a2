"""One compose project of the test: the real compose files plus the stand-in override.

Every command is `docker compose -p PROJECT -f ... ARGS` run from the repository, its output
appended to the project's log file; a failing command raises `CommandError` with its last
lines. Containers are read back with `docker inspect`: their service, address on the
project's network, health, start time and restarts.
"""

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tests.compose.command import CommandError, run

ROOT: Final = Path(__file__).resolve().parents[2]
OVERRIDE: Final = Path(__file__).resolve().parent / "compose.standins.yaml"


@dataclass(frozen=True)
class Container:
    """One container of the project, as `docker inspect` saw it."""

    name: str
    service: str
    image: str
    ip: str
    health: str
    started_at: str
    restarts: int
    exit_code: int
    oom_killed: bool
    finished_at: str
    """When the process last ended: a restarted container's previous run."""
    published: tuple[str, ...]
    """`host_ip:host_port->container_port` for every published port."""

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> "Container":
        networks = data["NetworkSettings"]["Networks"] or {}
        ports = data["NetworkSettings"]["Ports"] or {}
        state = data["State"]
        return cls(
            name=data["Name"].lstrip("/"),
            service=data["Config"]["Labels"]["com.docker.compose.service"],
            image=data["Image"],
            ip=next((n["IPAddress"] for n in networks.values() if n["IPAddress"]), ""),
            health=state.get("Health", {}).get("Status", "none"),
            started_at=state["StartedAt"],
            restarts=data["RestartCount"],
            exit_code=state["ExitCode"],
            oom_killed=state["OOMKilled"],
            finished_at=state["FinishedAt"],
            published=tuple(
                f"{binding['HostIp']}:{binding['HostPort']}->{port}"
                for port, bindings in sorted(ports.items())
                for binding in bindings or []
            ),
        )


class Stack:
    """A compose project made of the repository's compose `files` and the stand-in override."""

    def __init__(
        self, project: str | None, files: Sequence[str], env: Mapping[str, str], log: Path
    ) -> None:
        """`project` None keeps the name the compose files give."""
        self.project = project
        self._files = [*files, str(OVERRIDE.relative_to(ROOT))]
        self._env = dict(env)
        self.log = log

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    async def compose(self, *args: str, within: float = 300) -> str:
        files = [f"--file={name}" for name in self._files]
        named = [f"--project-name={self.project}"] if self.project else []
        command = ["compose", *named, *files, *args]
        result = await run("docker", *command, cwd=ROOT, env=self._env, within=within, log=self.log)
        return result.text

    async def up(self, *args: str, within: float = 420) -> tuple[float, str]:
        """`up --wait ARGS`: seconds until every service was healthy, and compose's output."""
        started = time.monotonic()
        output = await self.compose("up", "--wait", *args, within=within)
        return time.monotonic() - started, output

    async def down(self) -> None:
        """Remove the project's containers, networks and volumes; the containers get a short
        grace only, as nothing they hold is kept."""
        await self.compose("down", "--volumes", "--remove-orphans", "--timeout=3")

    async def config(self) -> dict[str, Any]:
        model: dict[str, Any] = json.loads(await self.compose("config", "--format=json"))
        return model

    async def containers(self, *services: str, every: bool = False) -> list[Container]:
        """The containers of `services` (all when none), running ones unless `every`."""
        ids = await self.compose("ps", "--quiet", *(["--all"] if every else []), *services)
        if not ids.split():
            return []
        inspected = json.loads((await run("docker", "inspect", *ids.split())).text)
        return sorted((Container.from_inspect(data) for data in inspected), key=_by_name)

    async def container(self, service: str) -> Container:
        """The one running container of `service`."""
        found = await self.containers(service)
        if len(found) != 1:
            raise CommandError(f"{service}: {len(found)} containers, one expected")
        return found[0]

    async def logs(self, *services: str) -> list[str]:
        output = await self.compose("logs", "--no-color", "--no-log-prefix", *services)
        return output.splitlines()

    async def container_logs(self, name: str, *, until: str, lines: int) -> list[str]:
        """The last `lines` lines one container wrote up to the time `until` (RFC 3339)."""
        output = await run("docker", "logs", f"--until={until}", f"--tail={lines}", name)
        return output.text.splitlines()


def _by_name(container: Container) -> str:
    return container.name


@dataclass(frozen=True)
class HostPorts:
    """The host ports a stack publishes, chosen free by the test and given to compose."""

    gateway: int
    reporter: int
    prometheus: int

    @property
    def env(self) -> dict[str, str]:
        return {
            "FUNNEL_GATEWAY_PORT": str(self.gateway),
            "FUNNEL_REPORTER_PORT": str(self.reporter),
            "FUNNEL_PROMETHEUS_PORT": str(self.prometheus),
        }

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway}"

    @property
    def reporter_url(self) -> str:
        return f"http://127.0.0.1:{self.reporter}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus}"
