"""Every dashboard query and alert of the deployment, evaluated by a real Prometheus scraping
the local system under traffic: each returns data.

Alert conditions are empty while an alert is quiet, so an alert is probed through the data
its condition reads (see `probes.py`), and its whole rule is checked as Prometheus evaluates
it: loaded, evaluated, healthy. NATS is seen through Funnel's own series (each service's
`funnel_nats_connected`, the collectors' JetStream gauges), so no query needs the NATS
exporter, whose job is left out here.
"""

from typing import Any, Final

import pytest

from tests.monitoring.probes import Probe, alert_probes, alert_rules, dashboard_probes
from tests.monitoring.prometheus_api import PrometheusApi, Series, has_data
from tests.monitoring.scrape_config import EXPORTER_JOB
from tests.monitoring.traffic import Sent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROBES: Final = [*dashboard_probes(), *alert_probes()]

# A live result gets this long to show a series created by the traffic in two scrapes.
_DATA_SECONDS: Final = 20.0


def _where(probe: Probe) -> str:
    return probe.where


def _by_label(result: Series, label: str) -> dict[str, float]:
    return {series["metric"][label]: float(series["value"][1]) for series in result}


async def test_every_service_is_scraped(prometheus: PrometheusApi, traffic: Sent) -> None:
    """Prometheus scrapes all four services and itself, every target healthy."""
    targets = await prometheus.targets()
    jobs = {target["labels"]["job"]: target["health"] for target in targets}
    assert jobs == dict.fromkeys(
        ("gateway", "fb-collector", "ttk-collector", "reporter", "prometheus"), "up"
    )
    assert EXPORTER_JOB not in jobs


@pytest.mark.parametrize("probe", PROBES, ids=_where)
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


async def test_nats_is_seen_through_funnel(prometheus: PrometheusApi, traffic: Sent) -> None:
    """The gateway and the collectors report their NATS connection up, the dead letters the
    traffic left, by origin, and both streams' sizes."""
    connected = _by_label(await prometheus.query("funnel_nats_connected"), "job")
    assert set(connected) == {"gateway", "fb-collector", "ttk-collector"}
    assert set(connected.values()) == {1.0}, connected

    def has_both_origins(result: Series) -> bool:
        return {"gateway", "fb-collector"} <= set(_by_label(result, "origin"))

    letters = await prometheus.wait_for(
        "max by (origin) (funnel_collector_dead_letter_messages)",
        has_both_origins,
        within=_DATA_SECONDS,
    )
    assert has_both_origins(letters), letters
    assert min(_by_label(letters, "origin").values()) >= 1
    streams = _by_label(
        await prometheus.query("max by (stream) (funnel_collector_stream_bytes)"), "stream"
    )
    assert set(streams) == {"EVENTS", "DEAD_LETTERS"}
    # EVENTS holds only the backlog, which the collectors keep empty here.
    assert streams["DEAD_LETTERS"] > 0


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
