"""The PromQL the deployment files evaluate, as probes that must return data on a live system.

A dashboard target is its own probe once Grafana's variables have values. An alert's
expression is a condition, empty whenever the alert is quiet, so its probes are the data the
condition reads: each operand of a top-level `or`/`unless`, with an `absent(...)` unwrapped
and a trailing comparison with a number dropped (`rate(x[5m]) > 0.1` probes `rate(x[5m])`).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from tests.deploy.compose_model import ROOT

DASHBOARDS: Final = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
PROMETHEUS_DIR: Final = ROOT / "deploy" / "prometheus"

# Values an instant query gives Grafana's built-in variables: the window of a panel's range
# and of its rate. The live test lasts well under a minute, so every window holds all of it.
GRAFANA_VARIABLES: Final = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}

_COMPARISON: Final = re.compile(
    r"(?s)^(?P<left>.+?)\s*(?:==|!=|>=|<=|>|<)(?:\s*bool)?\s*[-+]?\d+(?:\.\d+)?\s*$"
)
_ABSENT: Final = re.compile(r"(?s)^absent\s*\((?P<inner>.*)\)$")
_SET_OPERATOR: Final = re.compile(r"\s(?:or|unless)\s+(?:(?:on|ignoring)\s*\([^)]*\)\s*)?")
_OPENING: Final = "({["
_CLOSING: Final = ")}]"


@dataclass(frozen=True, slots=True)
class Probe:
    """One query to run: `where` names its dashboard panel or alert, `source` its full text."""

    where: str
    expr: str
    source: str


def concrete(expression: str) -> str:
    """A dashboard expression with Grafana's variables given values; a leftover `$` is an
    error, since a new template variable needs a value here too."""
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    if "$" in expression:
        raise ValueError(f"a Grafana variable without a value in {expression!r}")
    return expression


def _top_level_operands(expression: str) -> list[str]:
    """`expression` split at set operators outside brackets and strings."""
    operands: list[str] = []
    depth, quote, start, index = 0, "", 0, 0
    while index < len(expression):
        char = expression[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth -= 1
        elif depth == 0 and (match := _SET_OPERATOR.match(expression, index)):
            operands.append(expression[start:index])
            start = index = match.end()
            continue
        index += 1
    operands.append(expression[start:])
    return [operand.strip() for operand in operands]


def condition_data(expression: str) -> list[str]:
    """The queries an alert condition reads, each of which returns data when all is well."""
    data = []
    for operand in _top_level_operands(expression.strip()):
        if absent := _ABSENT.match(operand):
            operand = absent["inner"].strip()
        if comparison := _COMPARISON.match(operand):
            operand = comparison["left"].strip()
        data.append(operand)
    return data


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_probes() -> list[Probe]:
    """Every target of every panel of every dashboard."""
    probes = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                where = f"{dashboard['uid']} #{panel['id']} {panel['title']} [{target['refId']}]"
                probes.append(Probe(where, concrete(target["expr"]), target["expr"]))
    return probes


def rule_files() -> list[Path]:
    """The rule files the real prometheus.yml loads."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    return sorted(path for pattern in config["rule_files"] for path in PROMETHEUS_DIR.glob(pattern))


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of those files."""
    files = [yaml.safe_load(path.read_text()) for path in rule_files()]
    groups = [group for file in files for group in file["groups"]]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_probes() -> list[Probe]:
    """The data each alert's condition reads."""
    probes = []
    for rule in alert_rules():
        data = condition_data(rule["expr"])
        for number, expr in enumerate(data):
            where = rule["alert"] if len(data) == 1 else f"{rule['alert']} [{number}]"
            probes.append(Probe(where, expr, rule["expr"]))
    return probes
