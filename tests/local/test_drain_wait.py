"""The runner sees what JetStream still holds for each collector before stopping it."""

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from funnel.events.subjects import Subjects
from funnel.local import free_port
from funnel.local.drain import wait_for_drain

_CONSUMERS = ["fb-collector", "ttk-collector"]


async def test_pending_messages_are_counted_until_acknowledged(
    nats_url: str, subjects: Subjects
) -> None:
    """Undelivered and unacknowledged messages count; once all are acked, nothing is left."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=subjects.events_stream, subjects=[subjects.all_events])
        await js.add_consumer(
            subjects.events_stream,
            ConsumerConfig(
                durable_name="fb-collector",
                filter_subject=subjects.events("facebook"),
                ack_policy=AckPolicy.EXPLICIT,
            ),
        )
        for n in range(3):
            await js.publish(subjects.events("facebook"), f"[{n}]".encode())

        left = await wait_for_drain(nats_url, subjects, _CONSUMERS, within=0.5)
        assert left == {"fb-collector": 3, "ttk-collector": 0}

        subscription = await js.pull_subscribe_bind("fb-collector", subjects.events_stream)
        messages = await subscription.fetch(3, timeout=5)
        assert await wait_for_drain(nats_url, subjects, _CONSUMERS, within=0.5) == {
            "fb-collector": 3,
            "ttk-collector": 0,
        }
        for message in messages:
            await message.ack_sync()
        left = await wait_for_drain(nats_url, subjects, _CONSUMERS, within=30)
        assert left == {"fb-collector": 0, "ttk-collector": 0}
    finally:
        await nc.close()


async def test_unreachable_nats_is_not_waited_for() -> None:
    """Without a NATS to ask, the wait returns at once with no counts."""
    assert (
        await wait_for_drain(f"nats://127.0.0.1:{free_port()}", Subjects(), _CONSUMERS, within=30)
        == {}
    )
