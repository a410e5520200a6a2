"""End to end: `funnel up` serves the reports of the events posted to it, and keeps them.

One `funnel up --no-publisher` runs in a subprocess on a temporary data dir and free ports;
known events go to its webhook; the three reports must match answers computed here in plain
Python. Then SIGTERM, a second `funnel up` on the same data dir, and the same reports again.
"""

import asyncio
import contextlib
import os
import random
import signal
import socket
import statistics
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from funnel.local import READY_BANNER
from funnel.local.ports import is_free
from funnel.publisher.generator import generate_batch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

_SEED = 20261125
_EVENTS = 600
_START_SECONDS = 180.0
_STOP_SECONDS = 120.0
_REPORTS = ("events", "revenue", "demographics")
_AGE_GROUPS = (
    ("<18", 0, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, 10**6),
)
_TIERS = (
    ("<1k", 0, 999),
    ("1k-10k", 1_000, 9_999),
    ("10k-100k", 10_000, 99_999),
    ("100k-1M", 100_000, 999_999),
    ("1M+", 1_000_000, 10**12),
)
_TRANSACTIONAL = {("facebook", "checkout.complete"), ("tiktok", "purchase")}


def _free_port_base() -> int:
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 40_000)
        if all(is_free(base + offset) for offset in range(4)):
            return base
    raise RuntimeError("no four consecutive free ports")


@dataclass
class _Up:
    """A running `funnel up` and everything it has printed so far."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            print("UP>", line, flush=True)
            if line.startswith(READY_BANNER):
                self.ready.set()

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.lines[-n:])


@contextlib.asynccontextmanager
async def _funnel_up(data_dir: Path, port_base: int) -> AsyncIterator[_Up]:
    """`funnel up --no-publisher` until ready; SIGTERM and a clean exit at the end."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"NATS_URL", "DATABASE_URL", "FUNNEL_PORT_BASE", "FUNNEL_DATA_DIR"}
    }
    env |= {"APP_ENV": "development", "SHUTDOWN_GRACE_SECONDS": "10", "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "funnel",
        "up",
        "--no-publisher",
        "--data-dir",
        str(data_dir),
        "--port-base",
        str(port_base),
        "--ready-timeout",
        str(_START_SECONDS - 30),
        env=env,
        cwd=data_dir.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        limit=1 << 20,
    )
    up = _Up(process)
    reader = asyncio.create_task(up.read())
    try:
        ended = asyncio.create_task(process.wait())
        await asyncio.wait(
            {ended, asyncio.create_task(up.ready.wait())},
            timeout=_START_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not up.ready.is_set():
            pytest.fail(f"funnel up did not get ready:\n{up.tail()}")
        yield up
        process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(asyncio.shield(ended), _STOP_SECONDS)
        except TimeoutError:
            pytest.fail(f"funnel up did not stop after SIGTERM:\n{up.tail()}")
        assert code == 0, up.tail()
        for service in ("gateway", "fb-collector", "ttk-collector", "reporter"):
            stopped = [line for line in up.lines if "service_stopped" in line and service in line]
            assert any("stopped cleanly" in line for line in stopped), up.tail()
    finally:
        await _ensure_stopped(process)
        await asyncio.wait({reader}, timeout=10)
        reader.cancel()


async def _ensure_stopped(process: asyncio.subprocess.Process) -> None:
    """After a failure: SIGTERM so `funnel up` stops its servers, SIGKILL if it will not."""
    if process.returncode is not None:
        return
    for stop in (process.terminate, process.kill):
        with contextlib.suppress(ProcessLookupError):
            stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), _STOP_SECONDS)
            return


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _group(value: int, groups: tuple[tuple[str, int, int], ...]) -> str:
    return next(name for name, low, high in groups if low <= value <= high)


def _top(counter: Counter[str]) -> list[tuple[str, int]]:
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:10]
    return [(name, users) for name, users in ranked]


def _expected_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    by_type = Counter((e["source"], e["funnelStage"], e["eventType"]) for e in events)
    return {
        "total": len(events),
        "bySource": dict(Counter(e["source"] for e in events)),
        "byFunnelStage": dict(Counter(e["funnelStage"] for e in events)),
        "byEventType": sorted(
            (
                {"source": s, "funnelStage": f, "eventType": t, "count": n}
                for (s, f, t), n in by_type.items()
            ),
            key=str,
        ),
    }


def _expected_revenue(events: list[dict[str, Any]]) -> dict[str, Any]:
    sales = [
        (e["source"], Decimal(e["data"]["engagement"]["purchaseAmount"]))
        for e in events
        if (e["source"], e["eventType"]) in _TRANSACTIONAL
        and e["data"]["engagement"]["purchaseAmount"] is not None
    ]
    by_source: dict[str, list[Decimal]] = {}
    for source, amount in sales:
        by_source.setdefault(source, []).append(amount)
    return {
        "totalRevenue": _money(sum((amount for _, amount in sales), Decimal(0))),
        "transactions": len(sales),
        "bySource": sorted(
            (source, _money(sum(amounts, Decimal(0))), len(amounts))
            for source, amounts in by_source.items()
        ),
    }


def _expected_demographics(events: list[dict[str, Any]]) -> dict[str, Any]:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    latest_top: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e["timestamp"]):
        user_id = event["data"]["user"]["userId"]
        latest[(event["source"], user_id)] = event
        if event["source"] == "tiktok" and event["funnelStage"] == "top":
            latest_top[user_id] = event
    fb_users = [e["data"]["user"] for (s, _), e in latest.items() if s == "facebook"]
    ttk_users = [e["data"]["user"] for (s, _), e in latest.items() if s == "tiktok"]
    followers = [user["followers"] for user in ttk_users]
    tops = [e["data"]["engagement"] for e in latest_top.values()]
    return {
        "facebook": {
            "users": len(fb_users),
            "gender": dict(Counter(user["gender"] for user in fb_users)),
            "ageGroups": dict(Counter(_group(user["age"], _AGE_GROUPS) for user in fb_users)),
            "topCountries": _top(Counter(u["location"]["country"] for u in fb_users)),
        },
        "tiktok": {
            "users": len(ttk_users),
            "followers": (min(followers), max(followers), statistics.median(followers)),
            "followerTiers": dict(Counter(_group(n, _TIERS) for n in followers)),
            "devices": dict(
                Counter(engagement["device"] for engagement in tops),
                # Users with no top-funnel event: their device is not known.
                **({"unknown": len(ttk_users) - len(tops)} if len(ttk_users) > len(tops) else {}),
            ),
            "topCountries": _top(Counter(engagement["country"] for engagement in tops)),
        },
    }


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {key: value for key, value in counts.items() if value}


def _check_events(report: dict[str, Any], expected: dict[str, Any]) -> None:
    assert report["total"] == expected["total"]
    assert _nonzero(report["bySource"]) == expected["bySource"]
    assert _nonzero(report["byFunnelStage"]) == expected["byFunnelStage"]
    assert sorted(report["byEventType"], key=str) == sorted(expected["byEventType"], key=str)


def _check_revenue(report: dict[str, Any], expected: dict[str, Any]) -> None:
    assert report["totalRevenue"] == expected["totalRevenue"]
    assert report["transactions"] == expected["transactions"]
    by_source = sorted(
        (row["source"], row["revenue"], row["transactions"]) for row in report["bySource"]
    )
    assert by_source == expected["bySource"]
    average = Decimal(expected["totalRevenue"]) / expected["transactions"]
    assert abs(Decimal(report["averageOrderValue"]) - average) <= Decimal("0.01")


def _check_demographics(report: dict[str, Any], expected: dict[str, Any]) -> None:
    facebook, tiktok = report["facebook"], report["tiktok"]
    want_fb, want_ttk = expected["facebook"], expected["tiktok"]
    assert facebook["users"] == want_fb["users"]
    assert _nonzero(facebook["gender"]) == want_fb["gender"]
    assert _nonzero(facebook["ageGroups"]) == want_fb["ageGroups"]
    assert [(row["country"], row["users"]) for row in facebook["topCountries"]] == (
        want_fb["topCountries"]
    )
    assert tiktok["users"] == want_ttk["users"]
    low, high, median = want_ttk["followers"]
    assert (tiktok["followers"]["min"], tiktok["followers"]["max"]) == (low, high)
    assert tiktok["followers"]["median"] == pytest.approx(median)
    assert _nonzero(tiktok["followerTiers"]) == want_ttk["followerTiers"]
    assert _nonzero(tiktok["devices"]) == want_ttk["devices"]
    assert [(row["country"], row["users"]) for row in tiktok["topCountries"]] == (
        want_ttk["topCountries"]
    )


async def _reports(client: httpx.AsyncClient, reporter: str) -> dict[str, Any]:
    answers = {}
    for name in _REPORTS:
        response = await client.get(f"{reporter}/reports/{name}")
        assert response.status_code == 200, response.text
        answers[name] = response.json()
    return answers


async def _reports_once_stored(
    client: httpx.AsyncClient, reporter: str, total: int
) -> dict[str, Any]:
    """The reports as soon as every posted event is counted (bounded wait)."""
    async with asyncio.timeout(120):
        while True:
            answers = await _reports(client, reporter)
            if answers["events"]["total"] >= total:
                return answers
            await asyncio.sleep(0.5)


async def test_reports_match_the_posted_events_and_survive_a_restart(server_dir: Path) -> None:
    """Posted events show up in all three reports, exactly, and again after a restart."""
    events = generate_batch(random.Random(_SEED), _EVENTS)
    corrupt = {"eventId": "fb-broken", "source": "facebook", "funnelStage": "invalid-stage"}
    data_dir = server_dir / "data"
    port_base = _free_port_base()
    gateway, reporter = f"http://127.0.0.1:{port_base}", f"http://127.0.0.1:{port_base + 3}"

    async with _funnel_up(data_dir, port_base) as up, httpx.AsyncClient(timeout=60) as client:
        assert any(f"{reporter}/reports/events" in line for line in up.lines), up.tail()
        half = _EVENTS // 2
        for chunk in (events[:half], [*events[half:], corrupt]):
            response = await client.post(f"{gateway}/webhook", json=chunk)
            assert response.status_code == 202, response.text
        assert response.json()["rejected"] == 1
        before = await _reports_once_stored(client, reporter, _EVENTS)

    _check_events(before["events"], _expected_events(events))
    _check_revenue(before["revenue"], _expected_revenue(events))
    _check_demographics(before["demographics"], _expected_demographics(events))

    async with _funnel_up(data_dir, port_base), httpx.AsyncClient(timeout=60) as client:
        after = await _reports(client, reporter)
    assert after == before


async def test_a_taken_service_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    """When a service's port is in use, `funnel up` says which and exits 1 at once."""
    port_base = _free_port_base()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port_base + 3))
        holder.listen()
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "funnel", "up", "--no-publisher"),
            *("--data-dir", str(tmp_path / "data"), "--port-base", str(port_base)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), _STOP_SECONDS)
    assert process.returncode == 1
    assert "ports_in_use" in output.decode()
    assert f"'reporter': {port_base + 3}" in output.decode()
    assert not (tmp_path / "data").exists()


async def test_ctrl_c_while_the_servers_start_is_a_clean_stop(server_dir: Path) -> None:
    """Ctrl-C in a terminal signals the whole process group: PostgreSQL's `initdb`, still
    running, fails of it too. That is stopping early, exit 0, not a failure to start."""
    env = {
        key: value for key, value in os.environ.items() if key not in {"NATS_URL", "DATABASE_URL"}
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "funnel", "up", "--no-publisher"),
        *("--data-dir", str(server_dir / "data"), "--port-base", str(_free_port_base())),
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(_STOP_SECONDS):
            async for raw in process.stdout:
                seen.append(raw.decode(errors="replace"))
                if "nats_started" in seen[-1]:
                    break
        # PostgreSQL's cluster is created next (initdb takes most of a second): mid-way.
        await asyncio.sleep(0.3)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), _STOP_SECONDS)
    finally:
        await _ensure_stopped(process)
    printed = "".join(seen) + output.decode(errors="replace")
    assert process.returncode == 0, printed
    assert "up_failed" not in printed
    assert "Traceback" not in printed
