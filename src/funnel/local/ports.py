"""Ports of the embedded servers: the usual ones when free, and the same ones next time.

The choice is remembered in `<data dir>/ports.json`, so a second `funnel up` on the same
data dir serves the same addresses a user or a client already knows. A remembered port that
something else has taken since is replaced by the default or a free one, and remembered anew.
"""

import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from funnel.local.nats import free_port

DEFAULTS: Final = {"nats": 4222, "nats_monitor": 8222, "postgres": 5432}
_FILE_NAME: Final = "ports.json"


@dataclass(frozen=True, slots=True)
class ServerPorts:
    nats: int
    nats_monitor: int
    postgres: int


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a listener could bind `host:port` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def remembered_ports(data_dir: Path) -> dict[str, int]:
    """The ports the last `funnel up` on `data_dir` chose, by server; empty if none did."""
    try:
        loaded = json.loads((data_dir / _FILE_NAME).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {key: value for key, value in loaded.items() if isinstance(value, int)}


def choose_server_ports(data_dir: Path, in_use_by_us: dict[str, int] | None = None) -> ServerPorts:
    """The ports for this run, written back to the data dir.

    `in_use_by_us` names ports our own servers already hold (a PostgreSQL left running by a
    run that was killed): those are kept even though they are not free.
    """
    remembered = remembered_ports(data_dir)
    held = in_use_by_us or {}
    chosen: dict[str, int] = {}
    for name, default in DEFAULTS.items():
        if name in held:
            chosen[name] = held[name]
            continue
        taken = set(chosen.values())
        candidates = [remembered.get(name), default]
        port = next((p for p in candidates if p and p not in taken and is_free(p)), None)
        chosen[name] = port if port is not None else free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / _FILE_NAME).write_text(json.dumps(chosen, indent=2) + "\n")
    return ServerPorts(**chosen)
