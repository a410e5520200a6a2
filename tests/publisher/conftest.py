"""Fixtures for the emulator's tests: a real webhook to send to."""

from collections.abc import AsyncIterator

import pytest
from webhook_recorder import WebhookRecorder, running_webhook


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookRecorder]:
    """A real HTTP webhook on a free loopback port that records every POST."""
    async with running_webhook() as recorder:
        yield recorder
