"""Scenario 6: bad input never gets a 5xx, never crashes a service, never costs good events.

Hypothesis sends the gateway arbitrary bodies under arbitrary content types, and requests
mixing good events with bad ones (fields replaced by arbitrary JSON, huge numbers, deep
nesting); it sends the reporter arbitrary values for the parameters its OpenAPI document
declares, and unknown ones. Requests go from a worker thread with a blocking client, so the
examples run one after another while the services (processes) do their work.
"""

import asyncio
import itertools
import json
import random
import socket
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.fault_inputs import (
    CONTENT_TYPES,
    EXTREME_ELEMENTS,
    bad_events,
    good_events,
    json_values,
    raw_bodies,
)
from tests.faults.fault_ledger import until_stored
from tests.faults.fault_system import FunnelSystem

_FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _all_alive(system: FunnelSystem) -> None:
    for service in system.services:
        assert service.is_running, service.log_tail()
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(f"{service.url}/health/live")).status_code == 200
    for service in system.services:
        assert "Traceback" not in service.log_text(), service.log_tail()


@pytest.mark.timeout(150)
async def test_arbitrary_bodies_never_get_a_5xx(module_system: FunnelSystem) -> None:
    """Any bytes under any content type: an answer below 500, in JSON, and no crash."""
    system = module_system
    answers: list[int] = []

    def fuzz() -> None:
        with httpx.Client(base_url=system.gateway.url, timeout=30) as client:

            @_FUZZ
            @given(body=raw_bodies(), content_type=st.sampled_from(CONTENT_TYPES))
            def post(body: bytes, content_type: str) -> None:
                headers = {"Content-Type": content_type} if content_type else {}
                response = client.post("/webhook", content=body, headers=headers)
                assert response.status_code < 500, (body[:200], response.text)
                assert "error" in response.json() or response.status_code == 202
                answers.append(response.status_code)

            post()

    await asyncio.to_thread(fuzz)
    assert 400 in answers
    await _all_alive(system)


def _truncated_upload(port: int, declared: int, sent: bytes) -> None:
    """A request whose client goes away before sending the body it announced."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        )
        sock.sendall(head.encode() + sent)


@pytest.mark.timeout(150)
async def test_mixed_requests_store_every_good_event(module_system: FunnelSystem) -> None:
    """Good events mixed with bad and extreme elements: 202, and every good event stored."""
    system = module_system
    sent_good: list[str] = []
    seeds = itertools.count()

    def fuzz() -> None:
        with httpx.Client(base_url=system.gateway.url, timeout=30) as client:

            @_FUZZ
            @given(
                good=st.integers(min_value=1, max_value=20),
                bad=st.lists(bad_events(), max_size=5),
                extreme=st.lists(st.sampled_from(EXTREME_ELEMENTS), max_size=3),
                shuffle=st.randoms(use_true_random=False),
            )
            def post(
                good: int, bad: list[Any], extreme: list[bytes], shuffle: random.Random
            ) -> None:
                events = good_events(next(seeds), good)
                parts = [json.dumps(event).encode() for event in [*events, *bad]] + extreme
                shuffle.shuffle(parts)
                body = b"[" + b",".join(parts) + b"]"
                response = client.post(
                    "/webhook", content=body, headers={"Content-Type": "application/json"}
                )
                assert response.status_code == 202, (body[:300], response.text)
                answer = response.json()
                assert answer["accepted"] + answer["rejected"] == len(parts), answer
                assert answer["accepted"] >= good, answer
                sent_good.extend(event["eventId"] for event in events)

            post()
        # A client that leaves mid-upload costs nothing but its own request.
        for declared, sent in ((1000, b"[{"), (10, b""), (2**40, b"[")):
            _truncated_upload(system.gateway.port, declared, sent)

    await asyncio.to_thread(fuzz)
    await until_stored(system.database_url, set(sent_good))
    await _all_alive(system)


def _param_values() -> st.SearchStrategy[str]:
    """Arbitrary text, and values close to what the parameter takes."""
    near = st.sampled_from(
        [
            "2026-11-25T10:00:00Z",
            "2026-11-25",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+14:00",
            "2026-13-45T99:99:99Z",
            "facebook",
            "tiktok",
            "top",
            "bottom",
            "ad.view",
            "purchase",
            "minute",
            "day",
            "camp-ab12c",
            "1e400",
            "-1",
            "",
            "\x00",
            "x" * 5000,
        ]
    )
    return near | st.text(max_size=30) | json_values.map(json.dumps)


@pytest.mark.timeout(150)
async def test_report_parameters_never_get_a_5xx(module_system: FunnelSystem) -> None:
    """Every report with arbitrary values for its declared parameters (and unknown ones):
    200 or 400, always JSON, 400s naming the parameters."""
    system = module_system
    async with httpx.AsyncClient(base_url=system.reporter.url, timeout=30) as client:
        spec = (await client.get("/openapi.json")).json()
    declared = {
        path: [param["name"] for param in operation["get"].get("parameters", [])]
        for path, operation in spec["paths"].items()
        if path.startswith("/reports/")
    }
    assert len(declared) == 3, declared
    statuses: list[int] = []

    def fuzz() -> None:
        with httpx.Client(base_url=system.reporter.url, timeout=30) as client:

            @_FUZZ
            @given(data=st.data(), path=st.sampled_from(sorted(declared)))
            def ask(data: st.DataObject, path: str) -> None:
                names = st.sampled_from([*declared[path], "unknown", "FROM", "from[]"])
                params: list[tuple[str, str]] = data.draw(
                    st.lists(st.tuples(names, _param_values()), max_size=4), label="params"
                )
                response = client.get(path, params=tuple(params))
                assert response.status_code in (200, 400), (params, response.text)
                body = response.json()
                if response.status_code == 400:
                    assert body["error"], body
                    assert body["details"], body
                statuses.append(response.status_code)

            ask()

    await asyncio.to_thread(fuzz)
    assert {200, 400} <= set(statuses)
    await _all_alive(system)
