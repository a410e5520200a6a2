"""NATS SIGKILLed right after the gateway's 202: what was acknowledged is still there.

Real processes throughout: a nats-server of the test's own (from the shipped config, so
`sync_interval: always`), `funnel gateway`, and both `funnel collector`s. A SIGKILL loses no
page cache, so this proves the process-crash case; fsync before the ack, which covers an
OS crash or power loss, is shown by `test_nats_fsync.py`.
"""

import asyncio
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import nats.errors
import orjson
import pytest

from funnel.events import Subjects
from funnel.local import EmbeddedNats
from funnel.publisher import generate_batch
from tests.durability.funnel_process import eventually, funnel_services, logged_errors
from tests.faults.fault_ledger import stored_ids
from tests.gateway.gateway_harness import stored_messages

REQUESTS = 4
EVENTS_PER_REQUEST = 2_500


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of this test's own, which it kills and restarts on the same port."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _consumers_idle(nats_url: str, subjects: Subjects) -> bool:
    """Both collectors' durables have nothing pending and nothing unacknowledged."""
    try:
        nc = await nats.connect(nats_url, allow_reconnect=False)
    except (nats.errors.Error, OSError):
        return False  # still recovering its store after the restart
    try:
        js = nc.jetstream()
        for source in ("facebook", "tiktok"):
            info = await js.consumer_info(subjects.events_stream, subjects.collector(source))
            if info.num_pending or info.num_ack_pending:
                return False
        return True
    except (nats.errors.Error, TimeoutError):
        return False
    finally:
        await nc.close()


async def _stored_rows(database_url: str) -> tuple[int, set[str]]:
    """Rows in `events`, and their distinct event ids."""
    stored = await stored_ids(database_url)
    return stored.total(), set(stored)


async def test_acknowledged_events_survive_sigkill_of_nats(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> None:
    """Every event answered 202 survives a SIGKILL of NATS and is stored once; the stream then
    holds nothing (it keeps the backlog, not the history)."""
    subjects = Subjects(f"crash{uuid.uuid4().hex[:8]}")
    env = {
        "NATS_URL": nats_server.url,
        "DATABASE_URL": database_url,
        "FUNNEL_NAMESPACE": subjects.namespace,
        "APP_ENV": "development",
        "LOG_FORMAT": "json",
        # Short bounds, only so the test is quick: a publish lost with the server is retried
        # after ACK_TIMEOUT_SECONDS, a batch delivered to a collector but not acknowledged
        # before the kill comes back after ACK_WAIT_SECONDS.
        "ACK_TIMEOUT_SECONDS": "2",
        "ACK_WAIT_SECONDS": "5",
    }
    rng = random.Random(10)
    bodies = [generate_batch(rng, EVENTS_PER_REQUEST) for _ in range(REQUESTS)]
    accepted: set[str] = set()
    statuses: list[int] = []
    restarts: list[asyncio.Task[None]] = []
    services = {
        "gateway": ["gateway"],
        "fb-collector": ["collector", "--source", "facebook"],
        "ttk-collector": ["collector", "--source", "tiktok"],
    }

    async with (
        funnel_services(services, env, tmp_path) as urls,
        httpx.AsyncClient(base_url=urls["gateway"], timeout=60) as http,
    ):

        async def post(events: list[dict[str, object]]) -> None:
            response = await http.post(
                "/webhook",
                content=orjson.dumps(events),
                headers={"Content-Type": "application/json"},
            )
            statuses.append(response.status_code)
            if response.status_code == 202:
                if not restarts:
                    # The first 202 kills NATS at once, the other requests still in flight;
                    # it comes back on the same port and store.
                    nats_server.kill()
                    restarts.append(asyncio.create_task(asyncio.to_thread(nats_server.start)))
                assert response.json()["accepted"] == len(events)
                accepted.update(str(event["eventId"]) for event in events)

        await asyncio.gather(*(post(events) for events in bodies))
        assert len(restarts) == 1
        await restarts[0]

        async def all_stored() -> bool:
            return await _consumers_idle(nats_server.url, subjects)

        await eventually(all_stored, "collectors caught up after the restart", seconds=90)

    # Requests in flight at the kill may fail (503, the publisher does not retry them) or
    # succeed once the gateway reconnects; whichever they got, the answer holds.
    assert statuses.count(202) >= 1
    assert set(statuses) <= {202, 503}, logged_errors(tmp_path, "gateway")
    rows, stored_ids = await _stored_rows(database_url)
    assert accepted <= stored_ids
    assert rows == len(stored_ids)
    assert await stored_messages(nats_server.url, subjects.events_stream) == []
