"""Prometheus: promtool accepts the config and rules, and the alerts fire when they should."""

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.compose_model import ROOT, model
from tests.deploy.metric_names import unknown_metrics

PROMETHEUS = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = Path(__file__).with_name("alerts_test.yml")


def _promtool(promtool: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def _rules() -> list[dict[str, Any]]:
    groups = [group for path in RULES for group in yaml.safe_load(path.read_text())["groups"]]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_config(promtool: Path) -> None:
    """`promtool check config` passes, rule files included."""
    result = _promtool(promtool, "check", "config", CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_rules(promtool: Path) -> None:
    """`promtool check rules` passes for every rule file."""
    assert RULES
    result = _promtool(promtool, "check", "rules", *RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_as_specified(promtool: Path) -> None:
    """`promtool test rules`: each alert fires on its incident and stays quiet otherwise."""
    result = _promtool(promtool, "test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    """No alert goes untested by alerts_test.yml."""
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert {rule["alert"] for rule in _rules()} == tested


def test_alerts_cover_failures_lag_and_downtime() -> None:
    """There are alerts for failed events, consumer lag and services down, each documented."""
    rules = _rules()
    expressions = " ".join(rule["expr"] for rule in rules)
    for needle in (
        "funnel_gateway_events_failed_total",
        "funnel_collector_events_failed_total",
        "funnel_collector_consumer_pending_messages",
        "funnel_nats_connected",
        "funnel_collector_ingest_lag_seconds",
        "up{",
        "absent(",
    ):
        assert needle in expressions
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_rules_query_known_metrics() -> None:
    """Alert expressions name only Funnel's metrics and `up`, never the NATS exporter's."""
    for rule in _rules():
        assert unknown_metrics(rule["expr"]) == set(), rule["alert"]


def test_every_service_and_nats_is_scraped() -> None:
    """One job per service, on the port compose gives it, found by DNS; NATS via the exporter."""
    config = yaml.safe_load(CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    compose = model("development")
    for name in ("gateway", "fb-collector", "ttk-collector", "reporter"):
        (discovery,) = jobs[name]["dns_sd_configs"]
        assert discovery["names"] == [name]
        assert discovery["type"] == "A"
        assert str(discovery["port"]) == compose["services"][name]["environment"]["PORT"]
    (static,) = jobs["nats"]["static_configs"]
    host = static["targets"][0].split(":")[0]
    assert compose["services"][host]["image"].startswith("natsio/prometheus-nats-exporter:")
    assert config["rule_files"] == ["rules/*.yml"]
