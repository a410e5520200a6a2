"""SIGTERM on a real `funnel collector` process while a batch is in hand."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import orjson

from funnel.events import Subjects
from funnel.local import free_port
from tests.collector.collector_traffic import (
    collector_settings,
    count_rows,
    eventually,
    make_events,
    messages_of,
    publish,
    running,
)


def _sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_sigterm_mid_batch_commits_it_and_loses_nothing(
    subjects: Subjects,
    nats_url: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    """SIGTERM while a batch is in hand: it is committed and acked, the process exits cleanly,
    and a second replica consuming meanwhile stores the rest without one duplicate."""
    events = make_events("facebook", 40_000, seed=21)
    port = free_port()
    env = {
        **os.environ,
        "COLLECTOR_SOURCE": "facebook",
        "PORT": str(port),
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "FUNNEL_NAMESPACE": subjects.namespace,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "CONSUMERS": "1",
        "FETCH_MESSAGES": "10",
        "SHUTDOWN_GRACE_SECONDS": "30",
    }
    log_path = tmp_path / "collector.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "funnel", "collector", env=env, stdout=log, stderr=log
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, what="a ready collector process")
            await publish(nats_url, subjects, messages_of(subjects, "facebook", events))

            async def batch_in_hand() -> bool:
                text = (await http.get("/metrics")).text
                accepted = _sample(text, "funnel_collector_events_accepted_total")
                processed = _sample(text, "funnel_collector_events_processed_total")
                return accepted > processed

            await eventually(batch_in_hand, what="a batch fetched and not yet committed")
            process.send_signal(signal.SIGTERM)
            async with running(collector_settings(nats_url, database_url, subjects)) as replica:
                returncode = await asyncio.wait_for(process.wait(), 60)

                async def all_stored() -> bool:
                    return await count_rows(database_url) >= len(events)

                await eventually(all_stored, what="every event stored")
                duplicates = replica.metric("funnel_collector_events_duplicate_total")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # uvicorn re-raises the signal it handled once shutdown is complete.
    assert returncode == 0
    assert await count_rows(database_url) == 40_000
    assert duplicates == 0
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line[:1] == b"{"]
    names = [line["event"] for line in lines]
    assert "consumer_stop_timeout" not in names
    stored_after_signal = names[names.index("shutdown_requested") :]
    assert "batch_stored" in stored_after_signal
    assert stored_after_signal.index("batch_stored") < stored_after_signal.index("nats_closed")
    assert {line["service"] for line in lines} == {"fb-collector"}
