"""A Prometheus configuration for services on this machine, made from the deployment's own.

The deployment finds services by Docker's DNS; here each of its jobs scrapes the matching
local port instead, under the same job name, with the same rule files and labels, so every
dashboard and alert expression reads the series it reads in compose. Scrapes and rule
evaluations happen every second, so a short test sees many of them.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from tests.monitoring.probes import PROMETHEUS_DIR

INTERVAL: Final = "1s"
# The job the NATS exporter container serves: there is no exporter on this machine.
EXPORTER_JOB: Final = "nats"
_SELF_JOB: Final = "prometheus"


def local_config(ports: Mapping[str, int], prometheus_port: int) -> dict[str, Any]:
    """The real prometheus.yml with each DNS-discovered job aimed at `ports[name]` here.

    Every job of the real file must be a service in `ports`, Prometheus itself or the
    exporter's (left out), so a new job cannot go unscraped unnoticed.
    """
    config: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(
        scrape_interval=INTERVAL, scrape_timeout=INTERVAL, evaluation_interval=INTERVAL
    )
    config["rule_files"] = [str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]]
    jobs = []
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if name == EXPORTER_JOB:
            continue
        if name == _SELF_JOB:
            targets = [f"127.0.0.1:{prometheus_port}"]
        else:
            (discovery,) = job.pop("dns_sd_configs")
            targets = [f"127.0.0.1:{ports[host]}" for host in discovery["names"]]
        job["static_configs"] = [{"targets": targets}]
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def write_local_config(directory: Path, ports: Mapping[str, int], prometheus_port: int) -> Path:
    """`local_config` written to `directory/prometheus.yml`."""
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(local_config(ports, prometheus_port), sort_keys=False))
    return path
