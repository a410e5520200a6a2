"""`python -m tests.compose`: install and start the engine if needed, build the images, run the
development and production stacks through their checks, print the table, clean up.

Exit status 0 only when every check passed. Each stack is taken down with its volumes at the
end, and a dockerd started here is stopped; the logs of a failed run stay in the folder the
last line names.
"""

import asyncio
import random
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Final

from funnel.local import free_port
from tests.compose.development import run_development
from tests.compose.engine import Engine, install, shown
from tests.compose.images import Images, dockerfile_arg
from tests.compose.production import SECRETS, run_production
from tests.compose.report import Report, ScenarioStoppedError, expect
from tests.compose.stack import HostPorts, Stack

_ENVIRONMENTS: Final = {
    "development": ["compose.yaml"],
    "staging": ["compose.yaml", "compose.staging.yaml"],
    "production": ["compose.yaml", "compose.production.yaml"],
}


async def _separate_environments(report: Report, logs: Path) -> dict[str, str]:
    """Each environment is its own project with its own volumes; the production model's
    service -> image names."""
    async with report.check("one project and its own volumes per environment") as figures:
        models = {}
        for environment, files in _ENVIRONMENTS.items():
            stack = Stack(None, files, SECRETS, logs / "config.log")
            models[environment] = await stack.config()
        names = {environment: model["name"] for environment, model in models.items()}
        volumes = [
            {volume["name"] for volume in model["volumes"].values()} for model in models.values()
        ]
        expect(len(set(names.values())) == 3, f"project names {names}")
        expect(not set.intersection(*volumes), "environments share a volume")
        figures.append(
            "projects "
            + ", ".join(names.values())
            + "; volumes such as "
            + ", ".join(f"{name}_postgres-data" for name in names.values())
        )
    return {name: service["image"] for name, service in models["production"]["services"].items()}


async def _main(report: Report, logs: Path, seed: int) -> None:
    async with AsyncExitStack() as resources:
        async with report.check("engine and Compose") as figures:
            started = time.monotonic()
            installed = await install()
            engine = await resources.enter_async_context(Engine(logs / "dockerd.log"))
            figures.append(
                f"Docker Engine {shown(engine.version)}, Compose {shown(engine.compose_version)}"
                + (", dockerd started here" if engine.started_here else ", the running dockerd")
                + (f"; installed {', '.join(installed)}" if installed else "")
                + f"; {time.monotonic() - started:.0f} s"
            )
        names = await _separate_environments(report, logs)
        images = Images(names=names, python=dockerfile_arg("PYTHON_IMAGE"))
        ports = HostPorts(gateway=free_port(), reporter=free_port(), prometheus=free_port())
        async with report.check("stand-in images and the project image") as figures:
            started = time.monotonic()
            await images.ensure_base()
            wheels = await images.ensure_services()
            env = {**ports.env, "BUILD_IMAGE": wheels}
            development = Stack("funnel-test", _ENVIRONMENTS["development"], env, logs / "dev.log")
            await development.compose("build", within=900)
            await images.ensure_publisher(names["gateway"])
            await images.prune()
            figures.append(
                f"{time.monotonic() - started:.0f} s; built {', '.join(images.built) or 'none'};"
                f" reused {', '.join(images.reused) or 'none'}"
            )
        try:
            with suppress(ScenarioStoppedError):
                await run_development(report, development, ports, seed)
        finally:
            await development.down()
        production = Stack(
            "funnel-test-production",
            _ENVIRONMENTS["production"],
            {**env, **SECRETS},
            logs / "production.log",
        )
        try:
            await run_production(report, production, ports, seed)
        finally:
            await production.down()


def main() -> int:
    logs = Path(tempfile.mkdtemp(prefix="funnel-compose-test-"))
    seed = random.randrange(2**32)
    report = Report()
    started = time.monotonic()
    try:
        asyncio.run(_main(report, logs, seed))
    except ScenarioStoppedError:
        pass  # its row says why
    except Exception as exc:  # outside every check (a clean-up step): the table still prints
        traceback.print_exc()
        report.failed("the test itself", exc)
    print(f"\ncompose test (seed {seed}), {time.monotonic() - started:.0f} s:\n")
    print(report.render())
    if report.ok:
        shutil.rmtree(logs)
    else:
        print(f"logs: {logs}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
