"""The shipped nats-server config fsyncs a message to disk before acknowledging it.

A SIGKILL keeps the page cache, so no crash test can tell `sync_interval: always` from the
default; an OS crash or power loss cannot be simulated here. What can be seen is the order of
the server's system calls: under `strace`, every publish acknowledgement written to the client
socket follows an fsync of the stream's message block. The same trace of nats-server's default
shows none, so the check tells the two apart.
"""

import asyncio
import re
import shutil
from pathlib import Path

import httpx
import nats
import pytest
from bench.jetstream import server_config

from funnel.local import EmbeddedNats

PUBLISHES = 5
# strace -y prints each file descriptor's path; a publish acknowledgement carries `"seq":N`.
_BLOCK_FSYNC = re.compile(r"\bf(?:data)?sync\(\d+<[^>]*\.blk>\)")
_ACK_WRITE = re.compile(r"\bwritev?\(\d+<socket:.*\\\"seq\\\":(\d+)")


def _strace() -> str:
    found = shutil.which("strace")
    if found is None:
        pytest.skip("strace is not installed (a Debian package)")
    return found


async def _traced_publishes(server: EmbeddedNats, trace: Path) -> list[str]:
    """Publish one message at a time under strace; the trace's lines."""
    assert server.pid is not None
    tracer = await asyncio.create_subprocess_exec(
        _strace(),
        "-f",
        "-y",
        "-s",
        "256",
        "-e",
        "trace=fsync,fdatasync,write,writev",
        "-o",
        str(trace),
        "-p",
        str(server.pid),
        stderr=asyncio.subprocess.PIPE,
    )
    assert tracer.stderr is not None
    first = (await tracer.stderr.readline()).decode()
    if "attached" not in first:
        await tracer.wait()
        pytest.skip(f"strace cannot trace here: {first.strip()}")
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="FSYNC", subjects=["fsync.test"])
        for number in range(PUBLISHES):
            await js.publish("fsync.test", f"event {number}".encode())
    finally:
        await nc.close()
        tracer.terminate()
        await tracer.wait()
    return (await asyncio.to_thread(trace.read_text)).splitlines()


def _fsynced_acks(lines: list[str]) -> dict[int, bool]:
    """Each acknowledged sequence -> whether a message block was fsynced since the last ack."""
    acks: dict[int, bool] = {}
    synced = False
    for line in lines:
        if _BLOCK_FSYNC.search(line):
            synced = True
        elif match := _ACK_WRITE.search(line):
            acks[int(match.group(1))] = synced
            synced = False
    return acks


@pytest.mark.parametrize("sync", ["always", "default"])
async def test_each_ack_follows_an_fsync_only_with_the_shipped_setting(
    sync: str, tmp_path: Path
) -> None:
    """`always` (shipped) fsyncs before every ack; nats-server's default acks unsynced."""
    config = server_config(sync, tmp_path)
    with EmbeddedNats(tmp_path / "store", config_file=config) as server:
        lines = await _traced_publishes(server, tmp_path / "strace.txt")
    acks = _fsynced_acks(lines)
    assert sorted(acks) == list(range(1, PUBLISHES + 1)), lines
    if sync == "always":
        assert all(acks.values()), acks
    else:
        assert not any(acks.values()), acks


async def test_embedded_server_reports_sync_always(tmp_path: Path) -> None:
    """The server `funnel up` starts says so itself: `/varz` shows `sync_always: true`."""
    with EmbeddedNats(tmp_path / "store") as server:
        async with httpx.AsyncClient(base_url=server.monitor_url) as http:
            varz = (await http.get("/varz")).json()
    assert varz["jetstream"]["config"]["sync_always"] is True
