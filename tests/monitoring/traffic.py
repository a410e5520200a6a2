"""Traffic for the live system: the emulator's webhooks with invalid events, a malformed body,
an abandoned upload, a message no collector can decode, and one request for each report."""

import asyncio
import random
from dataclasses import dataclass
from typing import Final

import httpx
import nats

from funnel.events import Source, Subjects
from funnel.publisher import generate_batch, generate_event, invalidate

REPORTS: Final = ("events?interval=minute", "revenue", "demographics")


@dataclass(frozen=True, slots=True)
class Sent:
    """What the gateway said it took and refused, by event."""

    accepted: int
    rejected: int


async def post_events(
    client: httpx.AsyncClient, webhook: str, rng: random.Random, *, posts: int, events: int
) -> Sent:
    """`posts` webhooks of `events` valid events, each with one event at its end that a
    corruption made invalid, as the publisher sends them; every one answered 202."""
    accepted = rejected = 0
    for _ in range(posts):
        body = [*generate_batch(rng, events), invalidate(generate_event(rng), rng)]
        response = await client.post(webhook, json=body)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["accepted"] + answer["rejected"] == len(body)
        accepted += answer["accepted"]
        rejected += answer["rejected"]
    assert rejected > 0
    return Sent(accepted, rejected)


async def post_malformed(client: httpx.AsyncClient, webhook: str) -> None:
    """A body that is not JSON: 400."""
    response = await client.post(
        webhook, content=b"[{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text


async def abandon_upload(host: str, port: int) -> None:
    """Start a webhook upload and hang up halfway: the gateway loses that request's events."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n[{"
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader


async def publish_undecodable(nats_url: str, subjects: Subjects, source: Source) -> None:
    """A message on `source`'s events subject that is not a JSON array: its collector
    dead-letters it. No webhook can cause that, since the gateway rejects bad events first."""
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().publish(subjects.events(source), b"not a batch")
    finally:
        await connection.close()


async def ask_reports(client: httpx.AsyncClient, reporter: str) -> int:
    """One request per report category, each answered 200; how many were made."""
    for report in REPORTS:
        response = await client.get(f"{reporter}/reports/{report}")
        assert response.status_code == 200, response.text
    return len(REPORTS)
