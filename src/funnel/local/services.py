"""The processes `funnel up` runs, their ports and the addresses it shows.

Each service is started with the command its container runs (`funnel gateway`, ...), through
the same Python as the runner. Ports follow one base: gateway `base`, fb-collector `base+1`,
ttk-collector `base+2`, reporter `base+3` (3000..3003 by default, as in the contract).
"""

import sys
from dataclasses import dataclass
from typing import Final

from funnel.dashboard import PATH as DASHBOARD_PATH
from funnel.dashboard import services_environment
from funnel.events.source import COLLECTOR_NAMES

GATEWAY: Final = "gateway"
REPORTER: Final = "reporter"
PUBLISHER: Final = "publisher"
MIGRATE: Final = "migrate"
FB_COLLECTOR: Final = COLLECTOR_NAMES["facebook"]
TTK_COLLECTOR: Final = COLLECTOR_NAMES["tiktok"]
SERVICES: Final = (GATEWAY, FB_COLLECTOR, TTK_COLLECTOR, REPORTER)
DEFAULT_PORT_BASE: Final = 3000
_LOCALHOST: Final = "127.0.0.1"


def funnel_command(*args: str) -> tuple[str, ...]:
    """`funnel ARGS` through this interpreter, so a venv needs no activation."""
    return (sys.executable, "-m", "funnel", *args)


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    args: tuple[str, ...]
    port: int

    @property
    def argv(self) -> tuple[str, ...]:
        return funnel_command(*self.args)

    def url(self, path: str = "") -> str:
        return f"http://{_LOCALHOST}:{self.port}{path}"


def services(port_base: int = DEFAULT_PORT_BASE) -> dict[str, Service]:
    """The four long-running services, by name, in start order."""
    return {
        GATEWAY: Service(GATEWAY, ("gateway",), port_base),
        FB_COLLECTOR: Service(FB_COLLECTOR, ("collector", "--source", "facebook"), port_base + 1),
        TTK_COLLECTOR: Service(TTK_COLLECTOR, ("collector", "--source", "tiktok"), port_base + 2),
        REPORTER: Service(REPORTER, ("reporter",), port_base + 3),
    }


def dashboard_environment(by_name: dict[str, Service]) -> dict[str, str]:
    """What tells the reporter's dashboard where each service listens."""
    return services_environment({name: service.url() for name, service in by_name.items()})


@dataclass(frozen=True, slots=True)
class PublisherShape:
    """Events per POST and the pause between POSTs; None keeps the emulator's default."""

    min_events: int | None = None
    max_events: int | None = None
    interval_seconds: float | None = None

    @classmethod
    def steady(cls, rate: int) -> "PublisherShape":
        """`rate` events every second."""
        return cls(rate, rate, 1.0)

    def args(self) -> tuple[str, ...]:
        pairs = (
            ("--min", self.min_events),
            ("--max", self.max_events),
            ("--interval", self.interval_seconds),
        )
        return tuple(
            part for flag, value in pairs if value is not None for part in (flag, f"{value:g}")
        )


def publisher_command(gateway: Service, shape: PublisherShape) -> tuple[str, ...]:
    return funnel_command("publish", "--url", gateway.url("/webhook"), *shape.args())


def address_rows(
    by_name: dict[str, Service],
    *,
    nats_url: str,
    nats_monitor_url: str | None,
    database_url: str,
    data_dir: str,
) -> list[tuple[str, str, str]]:
    """The table printed once everything is ready: (what, service, address)."""
    gateway, reporter = by_name[GATEWAY], by_name[REPORTER]
    rows = [
        ("dashboard", REPORTER, reporter.url(DASHBOARD_PATH)),
        ("webhook", GATEWAY, f"POST {gateway.url('/webhook')}"),
        *(
            ("reports", REPORTER, reporter.url(f"/reports/{name}"))
            for name in ("events", "revenue", "demographics")
        ),
        ("docs", REPORTER, reporter.url("/docs")),
        *(("metrics", s.name, s.url("/metrics")) for s in by_name.values()),
        *(("health", s.name, s.url("/health/ready")) for s in by_name.values()),
        ("nats", "", nats_url),
    ]
    if nats_monitor_url is not None:
        rows.append(("nats monitor", "", nats_monitor_url))
    rows += [("postgres", "", database_url), ("data", "", data_dir)]
    return rows
