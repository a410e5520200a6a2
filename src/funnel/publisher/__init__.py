"""The emulator of the upstream publisher image, and the events it makes.

`funnel publish` runs `run(PublisherSettings())`; tests and benchmarks use `generate_event`,
`generate_batch`, `EventPool` and `corrupt` to make publisher-like input.
"""

from funnel.publisher.corruption import CORRUPTIONS, Corruption, corrupt
from funnel.publisher.emulator import publish, run
from funnel.publisher.generator import format_timestamp, generate_batch, generate_event
from funnel.publisher.pool import EventPool
from funnel.publisher.settings import PublisherSettings
from funnel.publisher.summary import Summary

__all__ = [
    "CORRUPTIONS",
    "Corruption",
    "EventPool",
    "PublisherSettings",
    "Summary",
    "corrupt",
    "format_timestamp",
    "generate_batch",
    "generate_event",
    "publish",
    "run",
]
