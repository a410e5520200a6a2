"""Scenario 7: `funnel dlq replay` of fixed dead letters stores their events exactly once."""

import asyncio
import json
from pathlib import Path

import orjson
import pytest

from tests.faults.fault_ledger import account, settle
from tests.faults.fault_load import Load
from tests.faults.fault_system import FUNNEL, FunnelSystem

_REQUESTS = 4


async def _funnel(system: FunnelSystem, *args: str) -> str:
    """Run `funnel ARGS` against the system's NATS and namespace; its output, asserting exit 0."""
    process = await asyncio.create_subprocess_exec(
        str(FUNNEL),
        *args,
        env=system.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    return text


@pytest.mark.timeout(150)
async def test_replay_of_fixed_dead_letters_stores_them_exactly_once(
    system: FunnelSystem, fault_dir: Path
) -> None:
    """Rejected events fixed and replayed (twice) are stored once; unfixed ones stay put."""
    load = Load(f"{system.gateway.url}/webhook", seed=7, corrupt_ratio=1.0)
    await load.send(_REQUESTS)
    assert len(load.accepted) == _REQUESTS, load.statuses
    await settle(system, load)
    listed = await _funnel(system, "dlq", "list", "--json", "--origin", "gateway")
    letters = {
        summary["correlationId"]: summary["seq"] for summary in map(json.loads, listed.splitlines())
    }
    assert sorted(letters) == sorted(post.correlation_id for post in load.posts)

    # Replayed as it is, a rejected event is still invalid: the letter stays.
    first = letters[load.posts[0].correlation_id]
    assert "still invalid: kept" in await _funnel(system, "dlq", "replay", str(first))

    for number, post in enumerate(load.posts):
        fixed = fault_dir / f"fixed-{number}.json"
        fixed.write_bytes(orjson.dumps(post.originals))
        sequence = str(letters[post.correlation_id])
        replayed = await _funnel(system, "dlq", "replay", sequence, "--from-file", str(fixed))
        assert "republished 1 event(s)" in replayed, replayed
        post.fixed = True
    # A second replay finds nothing left to publish.
    again = await _funnel(system, "dlq", "replay", "--all", "--origin", "gateway")
    assert "nothing to replay" in again, again

    tally = await account(f"7. dlq replay of {_REQUESTS} fixed letters", system, load)
    assert tally.dead_letters == 0
    assert tally.stored == tally.accepted
