"""The image: pinned, multi-stage, unprivileged, health-checked, without dev dependencies."""

import fnmatch
import json
import re
import tomllib

from tests.deploy.compose_model import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def _ignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes) or any(
            fnmatch.fnmatchcase(part, pattern) for part in parts
        ):
            ignored = not negate
    return ignored


def test_base_image_is_pinned_to_an_exact_python() -> None:
    """Both stages use one base, pinned to an exact Python 3.11 slim release, unless a build
    argument gives the build stage another (one with a wheelhouse, say)."""
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", default)
    assert re.findall(r"^ARG BUILD_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE) == ["${PYTHON_IMAGE}"]
    stages = [args for name, args in _instructions() if name == "FROM"]
    assert stages == ["${BUILD_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]


def test_no_syntax_directive() -> None:
    """No `# syntax=` line: the engine's own frontend builds it, with no registry lookup."""
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE, re.MULTILINE | re.IGNORECASE)


def test_runtime_runs_unprivileged() -> None:
    """The final stage switches to a named non-root user."""
    (user,) = [args for name, args in _final_stage() if name == "USER"]
    assert user.split(":")[0] not in ("root", "0")


def test_runtime_has_healthcheck_and_stop_signal() -> None:
    """The image checks readiness with Python (no curl) and stops on SIGTERM."""
    stage = dict(_final_stage())
    assert stage["STOPSIGNAL"] == "SIGTERM"
    healthcheck = stage["HEALTHCHECK"]
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "/health/ready" in command[2]
    compile(command[2], "healthcheck", "exec")
    assert json.loads(stage["ENTRYPOINT"]) == ["funnel"]


def test_no_dev_dependencies_are_installed() -> None:
    """The image installs the dependencies with their pins, then the package alone, without
    the test extra."""
    installs = [
        command.strip()
        for name, args in _instructions()
        if name == "RUN"
        for command in args.split("&&")
        if "pip install" in command
    ]
    assert installs
    for command in installs:
        assert "-c constraints.txt" in command or command.endswith("--no-deps .")
        assert "[test]" not in command
        assert " -e " not in command


def test_image_leaves_out_only_what_local_mode_needs() -> None:
    """The packages the image leaves out are dependencies that only `funnel.local` uses."""
    (listed,) = re.findall(r'^ARG LOCAL_ONLY_PACKAGES="([^"]*)"$', DOCKERFILE, re.MULTILINE)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies = {re.split(r"[^\w.-]", name)[0].lower() for name in project["dependencies"]}
    package = ROOT / "src" / "funnel"
    for name in listed.split():
        assert name in dependencies, name
        word = re.compile(rf"\b({re.escape(name)}|{re.escape(name.replace('-', '_'))})\b")
        users = {
            path.relative_to(package).parts[0]
            for path in package.rglob("*.py")
            if word.search(path.read_text())
        }
        assert users == {"local"}, (name, users)


def test_build_context_holds_what_the_build_copies() -> None:
    """.dockerignore lets in every COPY source and the package's readme, nothing local."""
    sources = []
    for name, args in _instructions():
        if name == "COPY" and "--from" not in args:
            sources.extend(args.split()[:-1])
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    for path in [*sources, readme, "src/funnel/__init__.py"]:
        assert not _ignored(path), path
    for path in (".venv/bin/python", ".git/HEAD", ".funnel/data", "tests/conftest.py", "bench"):
        assert _ignored(path), path
    assert _ignored("src/funnel/__pycache__/cli.cpython-311.pyc")
