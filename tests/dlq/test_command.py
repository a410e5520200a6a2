"""`funnel dlq list|show|replay` from the command line."""

import asyncio
import json
from pathlib import Path

import orjson
from typer.testing import CliRunner, Result

from funnel.cli import app
from funnel.dlq.inventory import list_dead_letters
from funnel.events import Subjects
from funnel.jetstream import JetStreamConnection, dead_letter_stream, ensure_stream
from funnel.local import EmbeddedNats, free_port
from tests.dlq.dlq_letters import broken, facebook_event, give_up, reject


async def _funnel(nats_url: str, subjects: Subjects, *args: str) -> Result:
    """Run `funnel <args>` against this test's names, in a thread (it runs its own loop)."""
    argv = [*args, "--nats-url", nats_url, "--namespace", subjects.namespace]
    return await asyncio.to_thread(CliRunner().invoke, app, argv)


async def test_list_show_and_replay(
    conn: JetStreamConnection, streams: Subjects, nats_url: str, tmp_path: Path
) -> None:
    """list names each letter, show prints its body, replay --from-file empties the queue."""
    event = facebook_event()
    await reject(conn, streams, [broken(event)], "cid-cli")
    await give_up(conn, streams, [facebook_event()], "cid-col")
    gateway, collector = await list_dead_letters(conn, streams)

    listed = await _funnel(nats_url, streams, "dlq", "list")
    assert listed.exit_code == 0, listed.output
    assert "cid-cli" in listed.output
    assert "cid-col" in listed.output
    assert "2 dead letter(s)" in listed.output

    as_json = await _funnel(nats_url, streams, "dlq", "list", "--json", "--origin", "gateway")
    [summary] = [orjson.loads(line) for line in as_json.output.splitlines()]
    assert (summary["seq"], summary["kind"]) == (gateway.sequence, "rejected-input")

    shown = await _funnel(nats_url, streams, "dlq", "show", str(gateway.sequence))
    assert shown.exit_code == 0, shown.output
    assert event["eventId"] in shown.output
    assert "invalid-stage" in shown.output

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(orjson.dumps([event]))
    replayed = await _funnel(
        nats_url, streams, "dlq", "replay", str(gateway.sequence), "--from-file", str(fixed)
    )
    assert replayed.exit_code == 0, replayed.output
    assert "republished 1 event(s) in 1 message(s)" in replayed.output

    replayed = await _funnel(nats_url, streams, "dlq", "replay", "--all")
    assert f"{collector.sequence}: undeliverable: republished 1 event(s)" in replayed.output
    again = await _funnel(nats_url, streams, "dlq", "replay", "--all")
    assert "nothing to replay" in again.output


async def test_errors_are_one_line_and_exit_1(
    conn: JetStreamConnection, streams: Subjects, nats_url: str
) -> None:
    """An unknown sequence, or no selection at all, is a short error, not a traceback."""
    missing = await _funnel(nats_url, streams, "dlq", "show", "999")
    assert missing.exit_code == 1
    assert "error:" in missing.output
    unselected = await _funnel(nats_url, streams, "dlq", "replay")
    assert unselected.exit_code == 2


async def test_without_nats_url_the_local_runs_nats_is_found(tmp_path: Path) -> None:
    """`funnel dlq list` with NATS_URL unset reads the NATS `funnel up` wrote to ports.json,
    not whatever listens on the default port."""
    with EmbeddedNats(tmp_path / "nats", port=free_port()) as server:
        async with JetStreamConnection(server.url, "test") as conn:
            local = Subjects()
            await ensure_stream(conn, dead_letter_stream(local, max_age=3600, max_bytes=2**28))
            await reject(conn, local, [broken(facebook_event())], "cid-local")
        (tmp_path / "ports.json").write_text(json.dumps({"nats": server.port}))

        argv = ["dlq", "list", "--data-dir", str(tmp_path)]
        listed = await asyncio.to_thread(
            CliRunner().invoke, app, argv, env={"NATS_URL": None, "FUNNEL_NAMESPACE": None}
        )
    assert listed.exit_code == 0, listed.output
    assert "cid-local" in listed.output
