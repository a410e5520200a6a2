"""The embedded servers' ports are remembered in the data dir and reused when free."""

import json
import socket
from pathlib import Path

from funnel.local import free_port
from funnel.local.ports import choose_server_ports, is_free


def test_remembered_ports_are_reused(tmp_path: Path) -> None:
    """A second choice on the same data dir gives the same ports."""
    first = choose_server_ports(tmp_path)
    assert len({first.nats, first.nats_monitor, first.postgres}) == 3
    assert choose_server_ports(tmp_path) == first
    assert json.loads((tmp_path / "ports.json").read_text())["nats"] == first.nats


def test_a_taken_port_is_replaced_and_remembered(tmp_path: Path) -> None:
    """When something else holds a remembered port, another is chosen and written back."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        (tmp_path / "ports.json").write_text(json.dumps({"nats": taken}))
        assert not is_free(taken)
        chosen = choose_server_ports(tmp_path)
    assert chosen.nats != taken
    assert json.loads((tmp_path / "ports.json").read_text())["nats"] == chosen.nats


def test_ports_held_by_our_own_server_are_kept(tmp_path: Path) -> None:
    """A PostgreSQL left running by a killed run keeps its port though it is not free."""
    port = free_port()
    assert choose_server_ports(tmp_path, {"postgres": port}).postgres == port
