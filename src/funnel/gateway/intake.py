"""Validating a request's elements chunk by chunk: valid events per source, and rejected ones.

Validation is CPU-bound and holds the GIL (pydantic-core), so a worker thread would not let
the event loop run any sooner; instead the elements are validated in chunks on the loop,
yielding between chunks, so health checks and other requests keep being answered while a
50,000-event request is validated, and the caller can publish the first batches while the
rest is still being validated.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from funnel.events import SOURCES, Rejected, Source, validate_events


@dataclass(slots=True)
class Verdict:
    """One chunk's valid events as they came, by source, and its rejected elements.

    Both keep input order; `Rejected.index` is the element's position in the request.
    """

    valid: dict[Source, list[dict[str, Any]]] = field(
        default_factory=lambda: {source: [] for source in SOURCES}
    )
    rejected: list[Rejected] = field(default_factory=list)


async def validate_in_chunks(elements: list[object], *, chunk: int) -> AsyncIterator[Verdict]:
    """Validate every element on its own; one `Verdict` per `chunk` elements, in order."""
    for start in range(0, len(elements), chunk):
        if start:
            await asyncio.sleep(0)
        # The verdict schema keeps only the raw dicts, a quarter cheaper than building models.
        validation = validate_events(elements[start : start + chunk])
        verdict = Verdict()
        for item in validation.valid:
            verdict.valid[item.source].append(item.raw)
        verdict.rejected.extend(
            replace(rejected, index=start + rejected.index) for rejected in validation.rejected
        )
        yield verdict
