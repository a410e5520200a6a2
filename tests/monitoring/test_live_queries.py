"""Every dashboard query and alert of the deployment, evaluated by a real Prometheus scraping
the local system under traffic: each returns data.

Alert conditions are empty while an alert is quiet, so an alert is probed through the data
its condition reads (see `probes.py`), and its whole rule is checked as Prometheus evaluates
it: loaded, evaluated, healthy. The NATS series come from prometheus-nats-exporter, a
container image that no package index here carries: the probes reading them are listed in
`NEEDS_EXPORTER`, and are only checked to be valid queries that find nothing.
"""

from typing import Any, Final

import pytest

from tests.monitoring.probes import Probe, alert_probes, alert_rules, dashboard_probes
from tests.monitoring.prometheus_api import PrometheusApi, has_data
from tests.monitoring.scrape_config import EXPORTER_JOB
from tests.monitoring.traffic import Sent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROBES: Final = [*dashboard_probes(), *alert_probes()]

# Needs the exporter: not available here.
NEEDS_EXPORTER: Final = frozenset(
    {
        "funnel-pipeline #2 Dead letters stored [A]",
        "funnel-pipeline #3 Consumer pending [A]",
        "funnel-pipeline #6 Consumer pending [A]",
        "funnel-pipeline #7 Delivered, not yet acknowledged [A]",
        "funnel-pipeline #7 Delivered, not yet acknowledged [B]",
        "funnel-pipeline #8 Dead letters per minute [C]",
        "funnel-pipeline #9 EVENTS stream [A]",
        "funnel-pipeline #9 EVENTS stream [B]",
        "FunnelServiceMissing [4]",
        "FunnelNatsUnreachable [0]",
        "FunnelNatsUnreachable [1]",
        "FunnelConsumerBacklog",
    }
)
# A live result gets this long to show a series created by the traffic in two scrapes.
_DATA_SECONDS: Final = 20.0


def _where(probe: Probe) -> str:
    return probe.where


def test_exporter_probes_are_the_listed_ones() -> None:
    """The probes that read exporter series are exactly those listed as needing it."""
    assert {probe.where for probe in PROBES if probe.needs_exporter} == NEEDS_EXPORTER


async def test_every_service_is_scraped(prometheus: PrometheusApi, traffic: Sent) -> None:
    """Prometheus scrapes all four services and itself, every target healthy."""
    targets = await prometheus.targets()
    jobs = {target["labels"]["job"]: target["health"] for target in targets}
    assert jobs == dict.fromkeys(
        ("gateway", "fb-collector", "ttk-collector", "reporter", "prometheus"), "up"
    )
    assert EXPORTER_JOB not in jobs


@pytest.mark.parametrize(
    "probe", [probe for probe in PROBES if not probe.needs_exporter], ids=_where
)
async def test_query_returns_data(probe: Probe, prometheus: PrometheusApi, traffic: Sent) -> None:
    """The query succeeds and returns at least one series, every value a finite number."""
    result = await prometheus.wait_for(probe.expr, has_data, within=_DATA_SECONDS)
    assert has_data(result), f"{probe.where}: {probe.expr} -> {result}"


async def test_failures_show_on_the_dashboards(prometheus: PrometheusApi, traffic: Sent) -> None:
    """Each panel query of failed events, gateway's and collectors', shows some above zero."""
    failure_probes = [probe for probe in dashboard_probes() if "_failed_total" in probe.expr]
    assert len(failure_probes) >= 4
    for probe in failure_probes:
        values = [float(series["value"][1]) for series in await prometheus.query(probe.expr)]
        assert max(values, default=0) > 0, (probe.where, probe.expr)


@pytest.mark.parametrize("probe", [probe for probe in PROBES if probe.needs_exporter], ids=_where)
async def test_exporter_query_is_valid_and_empty(
    probe: Probe, prometheus: PrometheusApi, traffic: Sent
) -> None:
    """Without the exporter the query still parses and evaluates, finding no series."""
    assert await prometheus.query(probe.expr) == []


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
async def test_alert_expression_evaluates(
    rule: dict[str, Any], prometheus: PrometheusApi, traffic: Sent
) -> None:
    """The whole condition is a valid query (empty while the alert is quiet)."""
    await prometheus.query(rule["expr"])


async def test_every_alert_rule_evaluates_cleanly(prometheus: PrometheusApi, traffic: Sent) -> None:
    """Prometheus loaded every alert of the rule files and evaluates each without error."""
    expected = {rule["alert"] for rule in alert_rules()}
    rules = {rule["name"]: rule for rule in await prometheus.rules() if rule["type"] == "alerting"}
    assert set(rules) == expected
    for name, rule in rules.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))
        assert not rule["lastEvaluation"].startswith("0001-"), name
