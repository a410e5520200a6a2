"""The package layout keeps services apart: they share modules, never each other's code."""

import ast
from pathlib import Path

import funnel

SERVICES = {"gateway", "collector", "reporter", "publisher"}
PACKAGE = Path(funnel.__file__).parent


def _imported_funnel_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("funnel."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[1] for alias in node.names if alias.name.startswith("funnel.")
            )
    return found


def test_services_never_import_each_other() -> None:
    """A service package imports shared packages only, never another service."""
    offenders = []
    for service in SERVICES:
        for path in (PACKAGE / service).rglob("*.py"):
            for imported in _imported_funnel_packages(path) & (SERVICES - {service}):
                offenders.append(f"{path.relative_to(PACKAGE)} imports funnel.{imported}")
    assert offenders == []


def test_every_service_starts_from_its_app_module() -> None:
    """`funnel gateway|collector|reporter` run a `run` defined in the service's `app.py`."""
    import funnel.collector
    import funnel.gateway
    import funnel.reporter

    for service in (funnel.gateway, funnel.collector, funnel.reporter):
        assert service.run.__module__ == f"{service.__name__}.app"


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def test_nats_py_is_used_only_inside_the_jetstream_wrapper() -> None:
    """Only `funnel.jetstream` imports nats-py; everything else goes through the wrapper."""
    wrapper = PACKAGE / "jetstream"
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if not path.is_relative_to(wrapper) and "nats" in _top_level_imports(path)
    ]
    assert offenders == []
