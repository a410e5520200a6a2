"""How dashboard and alert expressions become probes, checked without any server."""

import pytest

from tests.monitoring.probes import alert_rules, concrete, condition_data, dashboard_probes
from tests.monitoring.scrape_config import EXPORTER_JOB, local_config


def test_comparison_is_dropped_from_a_condition() -> None:
    """A condition probes its left side: the data it compares."""
    assert condition_data('up{job=~"a|b"} == 0') == ['up{job=~"a|b"}']
    assert condition_data("sum(rate(x[5m])) / (sum(rate(y[5m])) + 1) > 0.01") == [
        "sum(rate(x[5m])) / (sum(rate(y[5m])) + 1)"
    ]


def test_set_operators_split_a_condition_into_its_operands() -> None:
    """`absent(a) or absent(b)` probes a and b; `a == 1 unless on() b` probes a and b."""
    assert condition_data('absent(up{job="a"})\nor absent(up{job="b or c"})') == [
        'up{job="a"}',
        'up{job="b or c"}',
    ]
    assert condition_data('up{job="n"} == 1 unless on() other') == ['up{job="n"}', "other"]


def test_comparisons_inside_functions_stay() -> None:
    """Only a top-level comparison with a number is a condition's threshold."""
    assert condition_data("max(x > 3)") == ["max(x > 3)"]
    assert condition_data("x > y") == ["x > y"]


def test_grafana_variables_get_values() -> None:
    """Grafana's range and rate-interval variables become durations; unknown ones fail."""
    assert concrete("rate(x[$__rate_interval]) + increase(x[$__range])") == (
        "rate(x[1m]) + increase(x[1h])"
    )
    with pytest.raises(ValueError, match="variable"):
        concrete("rate(x{job=$job}[1m])")


def test_every_dashboard_target_and_alert_has_probes() -> None:
    """The dashboards and rule files are found and each yields queries."""
    assert len(dashboard_probes()) >= 10
    for rule in alert_rules():
        assert condition_data(rule["expr"]), rule["alert"]


def test_local_config_scrapes_each_service_port_under_its_job() -> None:
    """Each DNS job becomes one static target on this machine; the exporter's job is left out."""
    ports = {"gateway": 1, "fb-collector": 2, "ttk-collector": 3, "reporter": 4}
    config = local_config(ports, 9)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert EXPORTER_JOB not in jobs
    for name, port in [*ports.items(), ("prometheus", 9)]:
        assert jobs[name]["static_configs"] == [{"targets": [f"127.0.0.1:{port}"]}]
        assert "dns_sd_configs" not in jobs[name]
    assert config["global"]["evaluation_interval"] == "1s"
    assert all(pattern.endswith("rules/*.yml") for pattern in config["rule_files"])
