"""`funnel up`'s servers: the environment's when named, else embedded ones that keep data."""

import json
from pathlib import Path

import asyncpg
import nats

from funnel.local import EmbeddedNats
from funnel.local.nats import MEMORY_LIMIT
from funnel.local.servers import LocalServers


async def test_servers_named_by_the_environment_are_used(nats_url: str, postgres_url: str) -> None:
    """With NATS_URL and DATABASE_URL set, nothing is started and the URLs pass through."""
    environ = {"NATS_URL": nats_url, "DATABASE_URL": postgres_url}
    async with LocalServers(Path("/nonexistent"), environ) as endpoints:
        assert endpoints.nats_url == nats_url
        assert endpoints.database_url == postgres_url
        assert endpoints.embedded == ()


async def test_embedded_servers_keep_their_data_and_ports(server_dir: Path) -> None:
    """A second start on the same data dir finds the stream, the rows and the same ports."""
    async with LocalServers(server_dir, {}) as first:
        assert first.embedded == ("nats", "postgres")
        assert first.database_url.endswith("/funnel")
        conn = await asyncpg.connect(first.database_url)
        await conn.execute("create table kept (n int); insert into kept values (42)")
        await conn.close()
        nc = await nats.connect(first.nats_url)
        js = nc.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept"])
        await js.publish("kept", b"hello")
        await nc.close()
    ports = json.loads((server_dir / "ports.json").read_text())

    async with LocalServers(server_dir, {}) as second:
        conn = await asyncpg.connect(second.database_url)
        assert await conn.fetchval("select n from kept") == 42
        await conn.close()
        nc = await nats.connect(second.nats_url)
        message = await nc.jetstream().get_last_msg("KEPT", "kept")
        assert message.data == b"hello"
        await nc.close()
    again = json.loads((server_dir / "ports.json").read_text())
    assert again == ports
    assert second.nats_url == first.nats_url


async def test_a_stale_nats_server_on_the_store_is_replaced(tmp_path: Path) -> None:
    """A nats-server left on the store by a killed run is stopped before ours starts."""
    stale = EmbeddedNats((tmp_path / "nats").resolve())
    stale.start()
    try:
        async with LocalServers(tmp_path, {"DATABASE_URL": "postgresql://unused/db"}) as endpoints:
            assert not stale.is_running
            nc = await nats.connect(endpoints.nats_url)
            assert (await nc.jetstream().account_info()).limits is not None
            await nc.close()
    finally:
        stale.stop()


def test_embedded_nats_bounds_its_heap(tmp_path: Path) -> None:
    """The embedded server runs with Go's soft memory limit, so a backlog does not grow it
    past the memory target."""
    with EmbeddedNats(tmp_path / "nats") as server:
        assert server.pid is not None
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
    assert f"GOMEMLIMIT={MEMORY_LIMIT}".encode() in environ
