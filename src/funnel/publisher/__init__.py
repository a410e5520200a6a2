"""The emulator of the upstream publisher image, and the events it makes.

`funnel publish` runs `run(PublisherSettings())`; tests and benchmarks use `generate_event`,
`generate_batch`, `draw_request`, `corrupt` and `invalidate` to make the publisher's input.
"""

from funnel.publisher.corruption import CORRUPTIONS, Corruption, corrupt, invalidate
from funnel.publisher.emulator import publish, run
from funnel.publisher.generator import format_timestamp, generate_batch, generate_event
from funnel.publisher.request import RequestEvents, draw_request
from funnel.publisher.settings import PublisherSettings
from funnel.publisher.summary import Summary

__all__ = [
    "CORRUPTIONS",
    "Corruption",
    "PublisherSettings",
    "RequestEvents",
    "Summary",
    "corrupt",
    "draw_request",
    "format_timestamp",
    "generate_batch",
    "generate_event",
    "invalidate",
    "publish",
    "run",
]
