"""A request's publishes refused by a full stream leave nothing for the cyclic collector.

The gateway collects cycles rarely (`funnel.gc_tuning`), so a refused publish that left a
reference cycle over its message kept the payload for minutes: a gateway refusing requests
to a full stream grew by ~70 MB a minute.
"""

import gc

from funnel.events import Subjects
from funnel.gateway.publication import Publication
from funnel.jetstream import (
    JetStreamConnection,
    OutboundMessage,
    Publisher,
    PublishError,
    declare_streams,
)
from tests.jetstream.jetstream_traffic import batch_message


async def _refused_request(conn: JetStreamConnection, subjects: Subjects) -> tuple[bool, int]:
    """Publish a request of 20 batches into a stream with room for a few: whether the
    refusal says the stream is full, and how many batches it refused."""
    publication = Publication(Publisher(conn, attempts=1))
    publication.start(batch_message(subjects.events("facebook"), n * 500, 500) for n in range(20))
    # Not `pytest.raises`: its record of the error would hold this frame, a cycle of its own.
    try:
        await publication.finish()
    except PublishError as refused:
        return refused.full, refused.failed
    return False, 0


async def test_refused_publishes_leave_no_cycle_holding_a_message(
    conn: JetStreamConnection, subjects: Subjects
) -> None:
    await declare_streams(conn, subjects, max_age=3600, max_bytes=60_000)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        full, failed = await _refused_request(conn, subjects)
        gc.collect()
        left = [thing for thing in gc.garbage if isinstance(thing, OutboundMessage)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert full
    assert 0 < failed < 20
    assert left == []
