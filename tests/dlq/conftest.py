"""Fixtures for the `funnel dlq` tests: a connection and declared streams of the test's own."""

from collections.abc import AsyncIterator

import pytest

from funnel.events import Subjects
from funnel.jetstream import (
    JetStreamConnection,
    dead_letter_stream,
    ensure_stream,
    events_stream,
)


@pytest.fixture
async def conn(nats_url: str) -> AsyncIterator[JetStreamConnection]:
    """A connection to the session's NATS server, drained after the test."""
    async with JetStreamConnection(nats_url, "dlq-test") as connection:
        yield connection


@pytest.fixture
async def streams(conn: JetStreamConnection, subjects: Subjects) -> Subjects:
    """This test's `EVENTS` and `DEAD_LETTERS` streams, declared; returns their names."""
    await ensure_stream(conn, events_stream(subjects, max_age=3600))
    await ensure_stream(conn, dead_letter_stream(subjects, max_age=3600))
    return subjects
