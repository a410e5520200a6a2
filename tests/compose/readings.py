"""What the host reads off a running stack: reports, metrics, rows, streams, scrape targets.

PostgreSQL and NATS are not published on the host, so they are reached on the project's
network at their containers' current addresses (a restarted container may have a new one).
"""

import asyncio
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import asyncpg
import httpx
import nats
from prometheus_client.parser import text_string_to_metric_families

from funnel.events import Subjects
from tests.compose.report import expect
from tests.compose.stack import Stack
from tests.faults.fault_ledger import pending, reported_total, stored_ids
from tests.faults.fault_load import Load

REPORTS: Final = ("events", "revenue", "demographics")


async def database_url(stack: Stack, password: str) -> str:
    postgres = await stack.container("postgres")
    return f"postgresql://funnel:{password}@{postgres.ip}:5432/funnel"


async def nats_url(stack: Stack, node: str = "nats") -> str:
    return f"nats://{(await stack.container(node)).ip}:4222"


async def reports(reporter_url: str) -> dict[str, Any]:
    """The three reports without filters, as JSON."""
    async with httpx.AsyncClient(base_url=reporter_url, timeout=30) as client:
        answers = [await client.get(f"/reports/{name}") for name in REPORTS]
    for answer in answers:
        expect(answer.status_code == 200, f"{answer.url}: {answer.status_code} {answer.text}")
    return {name: answer.json() for name, answer in zip(REPORTS, answers, strict=True)}


async def samples(metrics_url: str, name: str) -> dict[str, float]:
    """The values of the metric `name` at `metrics_url`, by their `source` label."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(metrics_url)
    answer.raise_for_status()
    return {
        sample.labels.get("source", ""): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == name
    }


async def rows_of(database_url: str, correlation_id: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM events WHERE batch_id IN"
            " (SELECT batch_id FROM raw_batches WHERE correlation_id = $1)",
            correlation_id,
        )
    finally:
        await connection.close()
    return count


async def stream_replicas(nats_url: str, stream: str) -> tuple[int, list[str]]:
    """The stream's configured replicas and the names of the peers that are current."""
    connection = await nats.connect(nats_url)
    try:
        info = await connection.jetstream().stream_info(stream)
    finally:
        await connection.close()
    cluster = info.cluster
    peers = [cluster.leader or ""] if cluster else []
    if cluster and cluster.replicas:
        peers += [peer.name or "" for peer in cluster.replicas if peer.current]
    return info.config.num_replicas or 1, peers


async def scrape_targets(prometheus_url: str, job: str) -> list[str]:
    """The health of each of Prometheus's active targets of `job`."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"{prometheus_url}/api/v1/targets", params={"state": "active"})
    answer.raise_for_status()
    targets = answer.json()["data"]["activeTargets"]
    return [str(target["health"]) for target in targets if target["labels"]["job"] == job]


@dataclass(frozen=True)
class Tally:
    """What a load sent and what the database holds of it."""

    requests: int
    acknowledged_requests: int
    acknowledged: int
    stored: int
    duplicates: int

    def figures(self) -> str:
        return (
            f"acknowledged / stored {self.acknowledged:,} / {self.stored:,} events "
            f"({self.acknowledged_requests} of {self.requests} requests answered 202), "
            f"{self.duplicates} stored twice"
        )


def publisher_like(
    gateway_url: str, seed: int, *, events: tuple[int, int], interval: float
) -> Load:
    """A load in the publisher's pattern (a bare array every `interval`, requests
    overlapping, no retries, one in ten ending with a corrupted event), every 202 recorded."""
    low, high = events
    return Load(
        url=f"{gateway_url}/webhook",
        seed=seed,
        min_events=low,
        max_events=high,
        interval=interval,
        corrupt_ratio=0.1,
    )


def _accepted_ids(loads: Sequence[Load]) -> set[str]:
    return set().union(*(load.accepted_ids() for load in loads))


async def settle(stack: Stack, password: str, loads: Sequence[Load], within: float = 120) -> None:
    """Wait until every acknowledged event is stored and JetStream holds nothing unacked."""
    accepted = _accepted_ids(loads)
    missing = len(accepted)
    try:
        async with asyncio.timeout(within):
            while True:
                stored = await stored_ids(await database_url(stack, password))
                missing = len(accepted - stored.keys())
                if not missing and await pending(await nats_url(stack), Subjects()) == 0:
                    return
                await asyncio.sleep(1)
    except TimeoutError:
        expect(False, f"{missing} acknowledged events not stored within {within:g} s")


async def account(stack: Stack, password: str, loads: Sequence[Load], reporter_url: str) -> Tally:
    """After `settle`: every event the gateways acknowledged is stored exactly once, each 202
    counted what was sent, and the reports count exactly the stored rows."""
    stored: Counter[str] = await stored_ids(await database_url(stack, password))
    posts = [post for load in loads for post in load.posts]
    for post in (post for load in loads for post in load.accepted):
        assert post.answer is not None
        expect(
            post.answer["accepted"] == len(post.valid_ids),
            f"a 202 said accepted={post.answer['accepted']} for {len(post.valid_ids)} events",
        )
    accepted = _accepted_ids(loads)
    lost = accepted - stored.keys()
    doubled = sum(count - 1 for count in stored.values())
    reported = await reported_total(reporter_url)
    expect(not lost, f"{len(lost)} acknowledged events lost")
    expect(doubled == 0, f"{doubled} events stored twice")
    expect(reported == len(stored), f"reports count {reported} events, {len(stored)} stored")
    return Tally(
        requests=len(posts),
        acknowledged_requests=sum(post.is_accepted for post in posts),
        acknowledged=len(accepted),
        stored=len(accepted & stored.keys()),
        duplicates=doubled,
    )


def log_fields(line: str) -> dict[str, str]:
    """The fields of one service log line: a JSON object, or a console line's `key=value`s."""
    if line.startswith("{"):
        try:
            return {key: str(value) for key, value in json.loads(line).items()}
        except json.JSONDecodeError:
            return {}
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    words = line.split()
    # Console lines: timestamp, [level, padding], event.
    event = next((word for word in words[1:] if re.fullmatch(r"[a-z_]+", word)), "")
    return {"event": event, **fields}
