"""`periodically`: an action repeated while a block runs, ended even if it swallows a cancel."""

import asyncio
import contextlib

from funnel.jetstream import periodically


async def test_the_action_repeats_and_waits_one_interval_first() -> None:
    """Without `immediately` the first run comes after one interval, then every interval."""
    runs: list[float] = []
    loop = asyncio.get_running_loop()

    async def record() -> None:
        runs.append(loop.time())

    started = loop.time()
    async with periodically(record, 0.05):
        await asyncio.sleep(0.3)
    assert len(runs) >= 3
    assert runs[0] - started >= 0.05


async def test_immediately_runs_the_action_at_once() -> None:
    """With `immediately` the action has run before the block's first await returns."""
    runs = 0

    async def record() -> None:
        nonlocal runs
        runs += 1

    async with periodically(record, 60, immediately=True):
        await asyncio.sleep(0.01)
    assert runs == 1


async def test_leaving_ends_an_action_that_swallows_its_cancellation() -> None:
    """nats-py swallows a CancelledError that lands while it flushes; leaving still ends
    the repetition, and does not wait for another interval."""
    runs = 0

    async def like_nats_py() -> None:
        nonlocal runs
        runs += 1
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.2)

    async with asyncio.timeout(5):
        async with periodically(like_nats_py, 0.01, immediately=True):
            await asyncio.sleep(0.05)
    seen = runs
    await asyncio.sleep(0.1)
    assert runs == seen >= 1
