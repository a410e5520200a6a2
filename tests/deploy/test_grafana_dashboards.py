"""Grafana: provisioning files and dashboards with the panels the contract asks for."""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.compose_model import ROOT, model
from tests.deploy.metric_names import unknown_metrics

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCE_UID = "prometheus"


def _dashboard(uid: str) -> dict[str, Any]:
    for path in DASHBOARDS:
        dashboard: dict[str, Any] = json.loads(path.read_text())
        if dashboard["uid"] == uid:
            return dashboard
    raise AssertionError(f"no dashboard {uid}")


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    (panel,) = [p for p in _panels(dashboard) if p["title"] == title]
    return panel


def _row_of(dashboard: dict[str, Any], title: str) -> str:
    """The title of the row a panel sits under (rows are flat, ordered by position)."""
    row = ""
    for panel in sorted(dashboard["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        if panel["type"] == "row":
            row = panel["title"]
        elif panel["title"] == title:
            return row
    raise AssertionError(f"no panel {title}")


def _expressions(panel: dict[str, Any]) -> list[str]:
    return [target["expr"] for target in panel["targets"]]


def test_datasource_is_provisioned_with_a_fixed_uid() -> None:
    """Prometheus is the one provisioned data source, at the compose service's address."""
    config = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = config["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in model("development")["services"]


def test_dashboard_provider_reads_the_mounted_folder() -> None:
    """The file provider reads the folder compose mounts the dashboards into."""
    config = yaml.safe_load((GRAFANA / "provisioning/dashboards/funnel.yml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    mounts = model("development")["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: Path(path).name)
def test_dashboard_is_valid_provisioning_json(path: Path) -> None:
    """Each dashboard has a uid, unique panel ids, sane grid positions and the fixed datasource."""
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"]
    assert dashboard["title"]
    assert "id" not in dashboard
    assert isinstance(dashboard["schemaVersion"], int)
    panels = list(_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        assert grid["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["type"] in ("stat", "timeseries")
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert panel["targets"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
            assert target["expr"]
            assert target["refId"]


def test_dashboard_uids_are_unique() -> None:
    """Two dashboards never share a uid (Grafana would load only one)."""
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids)) == 2


def test_gateway_stats() -> None:
    """Gateway: accepted, processed and failed events as stat panels."""
    dashboard = _dashboard("funnel-services")
    for title, metric in (
        ("Accepted events", "funnel_gateway_events_accepted_total"),
        ("Processed events", "funnel_gateway_events_processed_total"),
        ("Failed events", "funnel_gateway_events_failed_total"),
    ):
        panel = _panel(dashboard, title)
        assert panel["type"] == "stat"
        assert _row_of(dashboard, title) == "Gateway"
        (expression,) = _expressions(panel)
        assert expression == f"sum(increase({metric}[$__range]))"


def test_collectors_rate_per_minute_stacked() -> None:
    """Collectors: accepted, processed and failed per 1-minute window, stacked."""
    dashboard = _dashboard("funnel-services")
    title = "Collector events per minute (stacked)"
    panel = _panel(dashboard, title)
    assert panel["type"] == "timeseries"
    assert _row_of(dashboard, title) == "Collectors"
    assert panel["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    assert panel["interval"] == "1m"
    assert _expressions(panel) == [
        f"sum(increase(funnel_collector_events_{kind}_total[1m]))"
        for kind in ("accepted", "processed", "failed")
    ]


def test_reporter_latency_by_category() -> None:
    """Reporter: latency by category, p50 and p95, as a time series."""
    dashboard = _dashboard("funnel-services")
    title = "Report latency by category"
    panel = _panel(dashboard, title)
    assert panel["type"] == "timeseries"
    assert _row_of(dashboard, title) == "Reporter"
    assert panel["fieldConfig"]["defaults"]["unit"] == "s"
    quantiles = []
    for target in panel["targets"]:
        match = re.fullmatch(
            r"histogram_quantile\((0\.\d+), sum by \(le, category\) "
            r"\(rate\(funnel_reporter_request_duration_seconds_bucket\[\$__rate_interval\]\)\)\)",
            target["expr"],
        )
        assert match, target["expr"]
        assert "{{category}}" in target["legendFormat"]
        quantiles.append(match[1])
    assert quantiles == ["0.5", "0.95"]


def test_pipeline_overview() -> None:
    """Pipeline overview: end-to-end lag, dead letters and consumer pending."""
    dashboard = _dashboard("funnel-pipeline")
    lag = " ".join(_expressions(_panel(dashboard, "End-to-end lag")))
    assert "funnel_collector_ingest_lag_seconds_bucket" in lag
    dead = " ".join(_expressions(_panel(dashboard, "Dead letters stored")))
    assert 'funnel_collector_stream_messages{stream="DEAD_LETTERS"}' in dead
    assert "funnel_collector_dead_letter_messages" in dead
    pending = " ".join(
        expression
        for panel in _panels(dashboard)
        if panel["title"] == "Consumer pending"
        for expression in _expressions(panel)
    )
    assert "funnel_collector_consumer_pending_messages" in pending


def test_queries_name_known_metrics() -> None:
    """Every query names only Funnel's metrics and `up`, never the NATS exporter's."""
    for path in DASHBOARDS:
        for panel in _panels(json.loads(path.read_text())):
            for expression in _expressions(panel) if "targets" in panel else []:
                assert unknown_metrics(expression) == set(), (path.name, panel["title"])


def test_queries_are_valid_promql(promtool: Path, tmp_path: Path) -> None:
    """promtool parses every dashboard query (Grafana's $__ variables given real values)."""
    rules: list[dict[str, str]] = []
    for path in DASHBOARDS:
        for panel in _panels(json.loads(path.read_text())):
            for expression in _expressions(panel) if "targets" in panel else []:
                concrete = expression.replace("$__rate_interval", "1m").replace("$__range", "1h")
                rules.append({"record": f"dashboard:query{len(rules)}", "expr": concrete})
    file = tmp_path / "queries.yml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [str(promtool), "check", "rules", str(file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
