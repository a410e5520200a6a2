"""The production stack (`compose.yaml` + `compose.production.yaml`) under faults.

Three NATS nodes with R3 streams, three gateways behind gateway-lb, two replicas of each
collector. A load in the publisher's pattern (a bare array every second, requests
overlapping, no retries, some with a corrupted event) goes through gateway-lb from the host,
and a one-event webhook a second goes straight to each gateway replica, while one NATS node is
killed and started again, another is cut off the network for 30 s, and PostgreSQL is killed
and started again. Every replica's readiness is watched throughout. At the end every event a
202 acknowledged must be stored exactly once and no service may have restarted; readiness
must have said not-ready while PostgreSQL was gone (collectors, reporter) and whenever a
gateway replica refused a webhook.
"""

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import asyncpg
import httpx

from tests.compose.command import run
from tests.compose.readiness import ReadinessWatch
from tests.compose.readings import (
    account,
    database_url,
    log_fields,
    nats_url,
    publisher_like,
    settle,
    stream_replicas,
)
from tests.compose.report import Report, expect
from tests.compose.stack import Container, HostPorts, Stack
from tests.faults.fault_load import Load

PASSWORD: Final = secrets.token_hex(12)
SECRETS: Final = {"POSTGRES_PASSWORD": PASSWORD, "GRAFANA_ADMIN_PASSWORD": PASSWORD}
_PORTS: Final = {"gateway": 3000, "fb-collector": 3001, "ttk-collector": 3002, "reporter": 3003}
_NODES: Final = ("nats", "nats-2", "nats-3")
_STREAMS: Final = ("EVENTS", "DEAD_LETTERS")
_OUTAGE: Final = 10.0  # seconds a killed server stays down
_CUT: Final = 30.0  # seconds a NATS node stays off the network
_RECOVERY: Final = 120.0
_LAST_LINES: Final = 8  # of a restarted container's previous run, in the failure
# A refused webhook must meet a not-ready probe of its replica this close to its answer
# (the request may have waited in the gateway up to its publish timeout first).
_BEFORE_REFUSAL: Final = 5.0
_AFTER_REFUSAL: Final = 1.0


@dataclass
class _Traffic:
    """What runs through the faults: the publisher-like load through gateway-lb, a webhook a
    second straight to each gateway replica, and every replica's readiness."""

    through_balancer: Load
    direct: dict[str, Load]
    """Gateway replica (short name) -> its own one-event load."""
    watch: ReadinessWatch

    @property
    def loads(self) -> list[Load]:
        return [self.through_balancer, *self.direct.values()]

    def start(self) -> None:
        self.watch.start()
        for load in self.loads:
            load.start()

    async def stop(self) -> None:
        for load in self.loads:
            await load.stop()
        await self.watch.stop()


@dataclass(frozen=True)
class _Outage:
    """One fault: when it began and was undone, and how long recovery took after that."""

    began: float
    undone: float
    recovered: float

    @property
    def end(self) -> float:
        return self.undone + self.recovered

    def figures(self, traffic: _Traffic) -> str:
        watch = traffic.watch
        said = {name: watch.not_ready_seconds(name, self.began, self.end) for name in watch.targets}
        spans = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in said.items() if seconds)
        answered = [
            post
            for post in traffic.through_balancer.posts
            if post.answered_at and self.began <= post.answered_at <= self.undone
        ]
        statuses = Counter(post.status for post in answered)
        refused = sum(count for status, count in statuses.items() if status != 202)
        return (
            f"{self.undone - self.began:.0f} s: {statuses[202]} requests through gateway-lb "
            f"acknowledged meanwhile, {refused} refused; "
            + (f"not ready: {spans}" if spans else "every service stayed ready")
            + f"; recovered {self.recovered:.1f} s after it was undone"
        )


def _short(stack: Stack, container: Container) -> str:
    return container.name.removeprefix(f"{stack.project}-")


async def run_production(report: Report, stack: Stack, ports: HostPorts, seed: int) -> None:
    """Every production check in order; a failed one stops the scenario."""
    async with report.check("production: up --wait, 3 NATS nodes, R3 streams") as figures:
        await stack.down()  # what a failed run may have left
        seconds, _ = await stack.up("--scale", "publisher=0")
        containers = await stack.containers()
        unhealthy = [c.name for c in containers if c.health != "healthy"]
        expect(not unhealthy, f"not healthy: {unhealthy}")
        count = Counter(c.service for c in containers)
        expect(all(count[node] == 1 for node in _NODES), f"NATS nodes: {count}")
        expect(count["gateway"] == 3 and count["gateway-lb"] == 1, f"gateways: {count}")
        for stream in _STREAMS:
            replicas, current = await stream_replicas(await nats_url(stack), stream)
            expect(replicas == 3 and len(set(current)) == 3, f"{stream}: R{replicas} {current}")
        figures.append(
            f"healthy in {seconds:.0f} s: 3 NATS nodes, 3 gateways behind gateway-lb, "
            f"{count['fb-collector']} + {count['ttk-collector']} collectors; "
            f"{' and '.join(_STREAMS)} R3, all 3 replicas current"
        )

    apps = await stack.containers(*_PORTS)
    traffic = _Traffic(
        # The publisher's pattern at a size the shared machine holds beside three NATS nodes.
        through_balancer=publisher_like(ports.gateway_url, seed, events=(500, 2000), interval=1.0),
        direct={
            _short(stack, c): Load(
                url=f"http://{c.ip}:3000/webhook",
                seed=seed + index,
                min_events=1,
                max_events=1,
                interval=1.0,
                corrupt_ratio=0.0,
            )
            for index, c in enumerate(apps, start=1)
            if c.service == "gateway"
        },
        watch=ReadinessWatch(
            {_short(stack, c): f"http://{c.ip}:{_PORTS[c.service]}/health/ready" for c in apps}
        ),
    )
    traffic.start()
    try:
        await asyncio.sleep(5)
        await _faults(report, stack, traffic)
    finally:
        await traffic.stop()
    await _exactly_once(report, stack, ports, traffic, apps)


async def _outage(
    traffic: _Traffic,
    *,
    begin: Callable[[], Awaitable[object]],
    undo: Callable[[], Awaitable[object]],
    lasting: float,
    whole: Callable[[], Awaitable[bool]],
) -> _Outage:
    """`begin` a fault, `undo` it after `lasting` seconds, and wait for the recovery; every
    webhook a gateway replica refused meanwhile came while its readiness said not-ready."""
    began = time.monotonic()
    await begin()
    await asyncio.sleep(lasting)
    undone = time.monotonic()
    await undo()
    outage = _Outage(began, undone, await _recovery(traffic, undone, whole))
    refused_while_ready = [
        f"{name} at +{post.answered_at - began:.1f} s"
        for name, load in traffic.direct.items()
        for post in load.posts
        if post.answered_at
        and began <= post.answered_at <= outage.end
        and not post.is_accepted
        and traffic.watch.not_ready_seconds(
            name, post.answered_at - _BEFORE_REFUSAL, post.answered_at + _AFTER_REFUSAL
        )
        == 0
    ]
    expect(not refused_while_ready, f"refused webhooks while ready: {refused_while_ready}")
    return outage


async def _faults(report: Report, stack: Stack, traffic: _Traffic) -> None:
    async with report.check(f"kill NATS node `nats` for {_OUTAGE:.0f} s") as figures:
        outage = await _outage(
            traffic,
            begin=lambda: stack.compose("kill", "nats"),
            undo=lambda: stack.compose("start", "nats"),
            lasting=_OUTAGE,
            whole=lambda: _nats_whole(stack),
        )
        figures.append(outage.figures(traffic))

    node = (await stack.container("nats-2")).name
    async with report.check(f"cut NATS node `nats-2` off the network for {_CUT:.0f} s") as figures:
        outage = await _outage(
            traffic,
            begin=lambda: run("docker", "network", "disconnect", stack.network, node),
            undo=lambda: run("docker", "network", "connect", "--alias=nats-2", stack.network, node),
            lasting=_CUT,
            whole=lambda: _nats_whole(stack),
        )
        figures.append(outage.figures(traffic))

    async with report.check(f"kill PostgreSQL for {_OUTAGE:.0f} s") as figures:
        outage = await _outage(
            traffic,
            begin=lambda: stack.compose("kill", "postgres"),
            undo=lambda: stack.compose("start", "postgres"),
            lasting=_OUTAGE,
            whole=lambda: _postgres_answers(stack),
        )
        # Collectors and the reporter cannot work without the database: readiness must have
        # said so. The gateway does not need it, and went on acknowledging.
        watch = traffic.watch
        silent = [
            name
            for name in watch.targets
            if "gateway" not in name
            and not watch.not_ready_seconds(name, outage.began, outage.undone)
        ]
        expect(not silent, f"ready without a database: {silent}")
        figures.append(outage.figures(traffic))


async def _recovery(
    traffic: _Traffic, since: float, server_whole: Callable[[], Awaitable[bool]]
) -> float:
    """Seconds from `since` until the server is whole again, every replica answered ready
    after it, and gateway-lb acknowledged a request answered after it."""
    try:
        async with asyncio.timeout(_RECOVERY):
            await traffic.watch.all_ready(after=since, within=_RECOVERY)
            while True:
                if await server_whole() and _acknowledged_after(traffic.through_balancer, since):
                    break
                await asyncio.sleep(0.5)
    except TimeoutError:
        expect(False, f"not recovered within {_RECOVERY:.0f} s")
    return time.monotonic() - since


def _acknowledged_after(load: Load, since: float) -> bool:
    return any(post.answered_at and post.answered_at > since + 1.0 for post in load.accepted)


async def _nats_whole(stack: Stack) -> bool:
    """Every node answers its health check and both streams have all 3 replicas current."""
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            for node in _NODES:
                ip = (await stack.container(node)).ip
                if not ip or (await client.get(f"http://{ip}:8222/healthz")).status_code != 200:
                    return False
        for stream in _STREAMS:
            _, current = await stream_replicas(await nats_url(stack), stream)
            if len(set(current)) < 3:
                return False
    except (httpx.HTTPError, OSError, TimeoutError):  # a node still coming back
        return False
    return True


async def _restarts(stack: Stack, names: list[str], now: dict[str, Container]) -> str:
    """How each restarted container's last run ended, and the last lines it logged then."""
    described = []
    for name in names:
        container = now.get(name)
        if container is None:
            described.append(f"{name}: gone")
            continue
        ended = container.finished_at
        last = await stack.container_logs(name, until=ended, lines=_LAST_LINES)
        described.append(
            f"{name}: {container.restarts} restarts, last run ended {ended} with exit code "
            f"{container.exit_code}{' (OOM killed)' if container.oom_killed else ''}; "
            f"its last lines: {last}"
        )
    return "; ".join(described)


async def _postgres_answers(stack: Stack) -> bool:
    try:
        connection = await asyncpg.connect(await database_url(stack, PASSWORD), timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):  # still starting
        return False
    await connection.close()
    return True


async def _exactly_once(
    report: Report, stack: Stack, ports: HostPorts, traffic: _Traffic, apps: list[Container]
) -> None:
    async with report.check("production: every acknowledged event stored once") as figures:
        await settle(stack, PASSWORD, traffic.loads, within=180)
        tally = await account(stack, PASSWORD, traffic.loads, ports.reporter_url)
        now = {c.name: c for c in await stack.containers(*_PORTS, every=True)}
        restarted = [
            c.name
            for c in apps
            if c.name not in now or now[c.name].started_at != c.started_at or now[c.name].restarts
        ]
        expect(not restarted, f"restarted: {await _restarts(stack, restarted, now)}")
        refused = sum(
            not post.is_accepted for load in traffic.direct.values() for post in load.posts
        )
        figures.append(
            f"{tally.figures()}; no service restarted; {refused} direct webhooks refused by a "
            "gateway replica, each while its readiness said not-ready"
        )

    async with report.check("correlation id through gateway-lb, gateway, collectors") as figures:
        # The first acknowledged request without a corrupted event: its lines are all INFO.
        post = next(p for p in traffic.through_balancer.accepted if not p.bad_indexes)
        lb = [line for line in await stack.logs("gateway-lb") if post.correlation_id in line]
        gateway = [log_fields(line) for line in await stack.logs("gateway")]
        answered = [f for f in gateway if f.get("correlation_id") == post.correlation_id]
        collectors = [
            log_fields(line) for line in await stack.logs("fb-collector", "ttk-collector")
        ]
        stored = [
            f
            for f in collectors
            if f.get("correlation_id") == post.correlation_id and f.get("event") == "message_stored"
        ]
        expect(len(lb) == 1, f"gateway-lb lines: {lb}")
        expect(
            [f.get("event") for f in answered] == ["webhook_accepted"], f"gateway lines: {answered}"
        )
        counted = sum(int(f["count"]) for f in stored)
        expect(counted == len(post.valid_ids), f"stored lines count {counted}")
        figures.append(
            f"gateway-lb 1 access line, gateway 1 webhook_accepted, collectors {len(stored)} "
            f"message_stored lines ({counted} events) for one request's id (JSON logs)"
        )
