"""The development stack, `compose.yaml` as it is: start, traffic, logs, restart, scale, stop.

Each step is one row of the table. The publisher's stand-in sends its pattern at once; the
steps after the restart keep it at zero replicas and drive the gateway from the host with a
load that records every 202, so every acknowledged event can be looked for.
"""

import asyncio
import json
import random
import re
import time
import uuid
from collections import Counter
from typing import Any, Final

import httpx

from funnel.events import Subjects
from funnel.publisher import generate_batch
from tests.compose.command import run
from tests.compose.images import dockerfile_arg
from tests.compose.readings import (
    account,
    database_url,
    log_fields,
    nats_url,
    publisher_like,
    reports,
    rows_of,
    samples,
    scrape_targets,
    settle,
)
from tests.compose.report import Report, expect
from tests.compose.stack import HostPorts, Stack
from tests.faults.fault_ledger import pending
from tests.faults.fault_load import Load

Event = dict[str, Any]
APP_SERVICES: Final = ("gateway", "fb-collector", "ttk-collector", "reporter")
PASSWORD: Final = "funnel"  # compose.yaml's development password
_PUBLISHER_SECONDS: Final = 15
_PROCESSED: Final = "funnel_collector_events_processed_total"
_TRACED_EVENTS: Final = 2_500
# What the image holds: distributions installed, and the virtualenv's size.
_IMAGE_PROBE: Final = (
    "import importlib.metadata as m, json, pathlib; print(json.dumps({"
    "'names': sorted(d.metadata['Name'].lower() for d in m.distributions()), "
    "'bytes': sum(p.stat().st_size for p in pathlib.Path('/opt/funnel').rglob('*') "
    "if p.is_file())}))"
)


def _number(value: float) -> str:
    return f"{value:,.0f}"


async def run_development(report: Report, stack: Stack, ports: HostPorts, seed: int) -> None:
    """Every development check in order; a failed one stops the scenario."""
    traced = await _start(report, stack, ports)
    await _publisher_traffic(report, stack, ports, traced)
    await _restart(report, stack, ports)
    load = publisher_like(ports.gateway_url, seed, events=(200, 800), interval=0.25)
    load.start()
    try:
        await _scaled_collectors(report, stack, ports)
        await _stop_under_load(report, stack, ports, load)
    finally:
        await load.stop()


async def _start(report: Report, stack: Stack, ports: HostPorts) -> tuple[str, list[Event]]:
    async with report.check("development: up --wait, every service healthy") as figures:
        await stack.down()  # what a failed run may have left
        seconds, output = await stack.up()
        containers = await stack.containers()
        unhealthy = [c.name for c in containers if c.health != "healthy"]
        expect(not unhealthy, f"not healthy: {unhealthy}")
        figures.append(f"healthy in {seconds:.0f} s, {len(containers)} containers")
        # Compose names each service it builds in its build output.
        built = sorted(set(re.findall(r"\[(\S+) internal\] load build definition", output)))
        images = {c.image for c in containers if c.service in APP_SERVICES}
        expect(built == ["gateway"], f"up built the image for {built}")
        expect(len(images) == 1, f"the four services run {len(images)} images")
        figures.append(f"up built 1 image ({built[0]}) that all 4 Funnel services run")

    async with report.check("image: no local-mode packages") as figures:
        (image,) = {c.image for c in await stack.containers(*APP_SERVICES)}
        probe = await run("docker", "run", "--rm", "--entrypoint=python", image, "-c", _IMAGE_PROBE)
        found = json.loads(probe.text)
        local_only = dockerfile_arg("LOCAL_ONLY_PACKAGES").split()
        present = sorted(set(local_only) & set(found["names"]))
        expect(not present, f"the image holds {present}")
        figures.append(
            f"virtualenv {found['bytes'] / 2**20:.0f} MB, {len(found['names'])} distributions, "
            f"none of {', '.join(local_only)}"
        )

    async with report.check("development: published ports") as figures:
        published = {c.service: c.published for c in await stack.containers() if c.published}
        expected = {
            "gateway": f"127.0.0.1:{ports.gateway}->3000/tcp",
            "reporter": f"127.0.0.1:{ports.reporter}->3003/tcp",
            "prometheus": f"127.0.0.1:{ports.prometheus}->9090/tcp",
        }
        expect(
            published == {name: (port,) for name, port in expected.items()},
            f"published: {published}",
        )
        figures.append(
            ", ".join(f"{name} {port.split('->')[0]}" for name, port in expected.items())
            + " (ports from FUNNEL_*_PORT); postgres, nats: not published"
        )

    # A request of our own, to follow by its correlation id once stored.
    correlation_id = f"compose-{uuid.uuid4().hex}"
    events = generate_batch(random.Random(correlation_id), _TRACED_EVENTS)
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(
            f"{ports.gateway_url}/webhook",
            json=events,
            headers={"X-Correlation-ID": correlation_id},
        )
    async with report.check("development: a traced webhook acknowledged") as figures:
        expect(answer.status_code == 202, f"{answer.status_code} {answer.text[:200]}")
        expect(answer.json()["accepted"] == _TRACED_EVENTS, answer.text[:200])
        expect(answer.headers["X-Correlation-ID"] == correlation_id, str(answer.headers))
        figures.append(f"202, accepted {_TRACED_EVENTS:,}, X-Correlation-ID {correlation_id}")
    return correlation_id, events


async def _publisher_traffic(
    report: Report, stack: Stack, ports: HostPorts, traced: tuple[str, list[Event]]
) -> None:
    async with report.check("publisher stand-in: its events stored, reports exact") as figures:
        await asyncio.sleep(_PUBLISHER_SECONDS)
        await stack.compose("stop", "publisher")
        metrics = f"{ports.gateway_url}/metrics"
        processed = await samples(metrics, "funnel_gateway_events_processed_total")
        accepted = await samples(metrics, "funnel_gateway_events_accepted_total")
        expect(processed == accepted, f"accepted {accepted}, published {processed}")
        expected = {source: int(count) for source, count in processed.items()}
        events: dict[str, Any] = {}
        try:
            async with asyncio.timeout(90):
                while True:
                    events = (await reports(ports.reporter_url))["events"]
                    idle = await pending(await nats_url(stack), Subjects()) == 0
                    if idle and events["bySource"] == expected:
                        break
                    await asyncio.sleep(1)
        except TimeoutError:
            expect(False, f"reports {events.get('bySource')} != gateway {expected}")
        rejected = await samples(metrics, "funnel_gateway_events_failed_total")
        sent = [line for line in await stack.logs("publisher") if "batch_sent" in line]
        figures.append(
            f"{len(sent)} publisher requests in {_PUBLISHER_SECONDS} s; gateway accepted "
            f"{_number(sum(expected.values()))} events = reports' total "
            f"(facebook {_number(expected['facebook'])}, tiktok {_number(expected['tiktok'])});"
            f" corrupted events refused: {_number(sum(rejected.values()))}"
        )

    correlation_id, traced_events = traced
    async with report.check("correlation id: webhook to stored rows at INFO") as figures:
        by_source = Counter(str(event["source"]) for event in traced_events)
        gateway = [log_fields(line) for line in await stack.logs("gateway")]
        answered = [f for f in gateway if f.get("correlation_id") == correlation_id]
        expect(
            [f["event"] for f in answered] == ["webhook_accepted"],
            f"gateway lines: {answered}",
        )
        messages = int(answered[0]["messages"])
        stored = await _stored_lines(stack, correlation_id)
        expect(len(stored) == messages, f"{len(stored)} message_stored lines, {messages} sent")
        counted = Counter[str]()
        for line in stored:
            counted[line["subject"].removeprefix("events.")] += int(line["count"])
        expect(counted == by_source, f"stored {dict(counted)}, sent {dict(by_source)}")
        rows = await rows_of(await database_url(stack, PASSWORD), correlation_id)
        expect(rows == _TRACED_EVENTS, f"{rows} rows carry the id")
        figures.append(
            f"gateway 1 line (webhook_accepted, {messages} messages); collectors "
            f"{len(stored)} message_stored lines (facebook {by_source['facebook']}, "
            f"tiktok {by_source['tiktok']} events); {_number(rows)} rows with the id"
        )


async def _stored_lines(stack: Stack, correlation_id: str) -> list[dict[str, str]]:
    lines = [log_fields(line) for line in await stack.logs("fb-collector", "ttk-collector")]
    return [
        line
        for line in lines
        if line.get("correlation_id") == correlation_id and line["event"] == "message_stored"
    ]


async def _restart(report: Report, stack: Stack, ports: HostPorts) -> None:
    async with report.check("down, then up --wait: every count unchanged") as figures:
        before = await reports(ports.reporter_url)
        await stack.compose("down")
        seconds, _ = await stack.up("--scale", "publisher=0", "--scale", "fb-collector=3")
        after = await reports(ports.reporter_url)
        expect(after == before, "the reports changed across down and up")
        figures.append(
            f"healthy again in {seconds:.0f} s; events {_number(after['events']['total'])}, "
            f"revenue {after['revenue']['totalRevenue']}, facebook users "
            f"{_number(after['demographics']['facebook']['users'])}: as before"
        )


async def _scaled_collectors(report: Report, stack: Stack, ports: HostPorts) -> None:
    async with report.check("--scale fb-collector=3: replicas share, each scraped") as figures:
        replicas = await stack.containers("fb-collector")
        expect(len(replicas) == 3, f"{len(replicas)} fb-collector replicas")
        shares: list[float] = []
        health: list[str] = []
        started = time.monotonic()
        try:
            async with asyncio.timeout(120):
                while True:
                    shares = [
                        (await samples(f"http://{c.ip}:3001/metrics", _PROCESSED)).get(
                            "facebook", 0.0
                        )
                        for c in replicas
                    ]
                    health = await scrape_targets(ports.prometheus_url, "fb-collector")
                    if all(shares) and health == ["up"] * 3:
                        break
                    await asyncio.sleep(2)
        except TimeoutError:
            expect(False, f"replicas processed {shares}; Prometheus targets {health}")
        figures.append(
            "events stored by each replica: "
            + " / ".join(_number(share) for share in shares)
            + "; Prometheus: 3 of 3 fb-collector targets up, seen "
            + f"{time.monotonic() - started:.0f} s after the scale-out was healthy"
        )


async def _stop_under_load(report: Report, stack: Stack, ports: HostPorts, load: Load) -> None:
    async with report.check("docker compose stop (SIGTERM) under load") as figures:
        await asyncio.sleep(3)
        stopping = time.monotonic()
        await stack.compose("stop", within=300)
        stopped = time.monotonic() - stopping
        await load.stop()
        exits = {c.name: c.exit_code for c in await stack.containers(*APP_SERVICES, every=True)}
        expect(set(exits.values()) == {0}, f"exit codes {exits}")
        await stack.up("--scale", "publisher=0")
        await settle(stack, PASSWORD, [load])
        tally = await account(stack, PASSWORD, [load], ports.reporter_url)
        figures.append(
            f"stop took {stopped:.0f} s, every Funnel service exited 0; {tally.figures()}"
        )
