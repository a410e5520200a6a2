"""The emulator against a real webhook: what it sends, how often, and what it adds up."""

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog

from funnel.events import validate_events
from funnel.publisher import PublisherSettings, publish
from tests.publisher.webhook_recorder import WebhookRecorder, running_webhook


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookRecorder]:
    """A real HTTP webhook on a free loopback port that records every POST."""
    async with running_webhook() as recorder:
        yield recorder


def settings_for(webhook: WebhookRecorder, **knobs: Any) -> PublisherSettings:
    """Small, fast requests to the test webhook; `knobs` override."""
    defaults: dict[str, Any] = {
        "url": webhook.url,
        "min_events": 3,
        "max_events": 12,
        "interval_seconds": 0.005,
        "seed": 1,
        "max_requests": 10,
        "drain_timeout_seconds": 10.0,
    }
    return PublisherSettings(**{**defaults, **knobs})


async def test_each_request_is_a_bare_json_array_within_the_size_range(
    webhook: WebhookRecorder,
) -> None:
    """Each POST is a JSON array of min..max valid events, plus at most one corrupted one at
    the end, which only it may be rejected."""
    summary = await publish(settings_for(webhook, max_requests=40, corrupt_ratio=0.5))
    assert len(webhook.received) == summary.requests == 40
    sizes = set()
    for received in webhook.received:
        assert received.content_type == "application/json"
        validation = validate_events(received.events)
        assert [r.index for r in validation.rejected] in ([], [len(received.events) - 1])
        sizes.add(len(received.events))
    assert min(sizes) >= 3
    assert max(sizes) <= 13
    assert sum(map(len, (r.events for r in webhook.received))) == summary.events


async def test_about_the_configured_share_of_requests_carry_a_corrupted_event(
    webhook: WebhookRecorder,
) -> None:
    """With corrupt_ratio 0.3 about 30% of requests end with one corrupted event, as counted;
    the ones the summary counts as unchanged are the ones accepted."""
    summary = await publish(
        settings_for(webhook, max_requests=300, corrupt_ratio=0.3, min_events=1, max_events=1)
    )
    sizes = Counter(len(received.events) for received in webhook.received)
    assert sizes == {1: summary.requests - summary.corrupted, 2: summary.corrupted}
    with_rejects = sum(
        1 for received in webhook.received if validate_events(received.events).rejected
    )
    assert with_rejects == summary.corrupted - summary.unchanged
    assert 0.2 * 300 <= summary.corrupted <= 0.4 * 300
    assert summary.unchanged > 0


async def test_the_default_ratio_is_one_in_ten() -> None:
    """The defaults are the upstream image's: 1,000..50,000 events, 1 s, 10% corrupted."""
    settings = PublisherSettings()
    assert (settings.min_events, settings.max_events) == (1000, 50_000)
    assert (settings.interval_seconds, settings.corrupt_ratio) == (1.0, 0.1)
    assert settings.duration_seconds is None


async def test_a_seed_makes_runs_reproducible(webhook: WebhookRecorder) -> None:
    """Two runs with one seed send the same events in the same requests; another seed differs."""

    def event_ids() -> list[list[object]]:
        # Requests overlap, so they may arrive out of order: compare them as a sorted set.
        requests = [
            [e.get("eventId") for e in r.events if isinstance(e, dict)] for r in webhook.received
        ]
        return sorted(requests, key=repr)

    await publish(settings_for(webhook, seed=42, max_requests=5, corrupt_ratio=0.5))
    first = event_ids()
    webhook.received.clear()
    await publish(settings_for(webhook, seed=42, max_requests=5, corrupt_ratio=0.5))
    assert event_ids() == first
    webhook.received.clear()
    await publish(settings_for(webhook, seed=43, max_requests=5, corrupt_ratio=0.5))
    assert event_ids() != first


async def test_requests_overlap_when_the_webhook_is_slow(webhook: WebhookRecorder) -> None:
    """A new request goes out every interval without waiting for the previous answers."""
    webhook.hold_until_open = 4
    summary = await publish(settings_for(webhook, max_requests=4))
    assert webhook.most_open == 4
    assert summary.ok == 4


async def test_a_failed_request_is_never_retried(webhook: WebhookRecorder) -> None:
    """Every request answered 500 is counted as non-2xx and not sent again."""
    webhook.status_for = lambda _number: 500
    summary = await publish(settings_for(webhook, max_requests=6))
    assert len(webhook.received) == 6
    assert len({received.body for received in webhook.received}) == 6
    assert (summary.requests, summary.non_2xx, summary.ok, summary.errors) == (6, 6, 0, 0)
    assert summary.statuses == {500: 6}


async def test_the_summary_adds_up_what_was_sent_and_answered(webhook: WebhookRecorder) -> None:
    """Requests, events, 2xx and non-2xx in the summary match what the webhook saw."""
    webhook.status_for = lambda number: 503 if number % 3 == 0 else 202
    summary = await publish(settings_for(webhook, max_requests=9, corrupt_ratio=0.5))
    assert summary.requests == 9
    assert summary.events == sum(len(received.events) for received in webhook.received)
    assert (summary.ok, summary.non_2xx, summary.errors) == (6, 3, 0)
    assert summary.statuses == {202: 6, 503: 3}
    p50, p99 = summary.latency_ms(0.5), summary.latency_ms(0.99)
    assert p50 is not None
    assert p99 is not None
    assert 0 <= p50 <= p99
    assert "requests:  9" in summary.render()


async def test_each_request_is_logged_with_its_count_status_and_duration(
    webhook: WebhookRecorder,
) -> None:
    """A `batch_sent` line per request carries count, status and duration_ms."""
    with structlog.testing.capture_logs() as logs:
        await publish(settings_for(webhook, max_requests=3))
    sent = [line for line in logs if line["event"] == "batch_sent"]
    assert len(sent) == 3
    assert {line["status"] for line in sent} == {202}
    assert all(line["count"] >= 3 and line["duration_ms"] >= 0 for line in sent)


async def test_an_unreachable_webhook_counts_as_errors() -> None:
    """Connection failures are counted as requests without answer, and the run goes on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings = PublisherSettings(
        url=f"http://127.0.0.1:{closed_port}/webhook",
        min_events=1,
        max_events=1,
        interval_seconds=0.005,
        max_requests=3,
        seed=1,
    )
    summary = await publish(settings)
    assert (summary.requests, summary.errors, summary.ok) == (3, 3, 0)


async def test_setting_stop_ends_the_run(webhook: WebhookRecorder) -> None:
    """The run ends when `stop` is set, with what it sent so far in the summary."""
    stop = asyncio.Event()
    run = asyncio.create_task(
        publish(settings_for(webhook, max_requests=None, interval_seconds=0.05), stop)
    )
    await asyncio.wait_for(webhook.received_at_least(2), timeout=30)
    stop.set()
    summary = await run
    assert summary.requests >= 2
    assert summary.ok == summary.requests == len(webhook.received)


async def test_requests_in_flight_get_a_bounded_time_to_finish(webhook: WebhookRecorder) -> None:
    """At the end, requests still unanswered after the drain time are abandoned as errors."""
    webhook.hold_all = True
    summary = await publish(settings_for(webhook, max_requests=2, drain_timeout_seconds=0.1))
    assert (summary.requests, summary.errors, summary.ok) == (2, 2, 0)


async def test_ticks_are_skipped_and_counted_when_too_many_requests_are_open(
    webhook: WebhookRecorder,
) -> None:
    """With max_in_flight requests unanswered, a tick sends nothing and is counted skipped."""
    webhook.hold_all = True
    stop = asyncio.Event()
    settings = settings_for(
        webhook, max_requests=None, max_in_flight=2, interval_seconds=0.01, drain_timeout_seconds=0
    )
    run = asyncio.create_task(publish(settings, stop))
    await asyncio.wait_for(webhook.received_at_least(2), timeout=30)
    # Every tick from now on finds both requests still open.
    await asyncio.sleep(20 * settings.interval_seconds)
    stop.set()
    summary = await run
    assert summary.requests == len(webhook.received) == 2
    assert summary.skipped >= 1
    assert summary.errors == 2


async def test_a_duration_ends_the_run(webhook: WebhookRecorder) -> None:
    """With a duration and no request limit, the run stops by itself."""
    summary = await publish(
        settings_for(webhook, max_requests=None, duration_seconds=0.2, interval_seconds=0.05)
    )
    assert summary.requests >= 1
    assert summary.ok == summary.requests


async def _funnel_publish(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "funnel",
        "publish",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "LOG_FORMAT": "json"},
    )


async def test_funnel_publish_runs_for_its_duration_and_prints_a_summary(
    webhook: WebhookRecorder,
) -> None:
    """`funnel publish` takes the contract's options and prints requests, events, answers."""
    process = await _funnel_publish(
        "--url", webhook.url, "--min", "2", "--max", "4", "--interval", "0.05",
        "--duration", "0.5", "--corrupt-ratio", "0.5", "--seed", "7",
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert f"requests:  {len(webhook.received)} " in text
    assert "events:" in text
    assert "non-2xx" in text
    assert b'"event":"batch_sent"' in stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_funnel_publish_stops_gracefully_on_a_signal(
    webhook: WebhookRecorder, signum: signal.Signals
) -> None:
    """SIGTERM or Ctrl-C stops sending, lets requests finish, and prints the summary."""
    process = await _funnel_publish("--url", webhook.url, "--min", "1", "--max", "2")
    await asyncio.wait_for(webhook.received_at_least(1), timeout=30)
    process.send_signal(signum)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert "requests:" in stdout.decode()


async def test_funnel_publish_refuses_inconsistent_sizes() -> None:
    """--max below --min is a usage error, explained, with exit status 2."""
    process = await _funnel_publish("--min", "10", "--max", "5")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert b"max_events (5) must be at least min_events (10)" in stderr
