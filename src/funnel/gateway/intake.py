"""Sorting a request's elements into valid events per source and rejected ones, chunk by chunk.

Validation is CPU-bound and holds the GIL (pydantic-core), so a worker thread would not let
the event loop run any sooner; instead the elements are validated in chunks on the loop,
yielding between chunks, so health checks and other requests keep being answered while a
50,000-event request is validated, and the caller can publish the first batches while the
rest is still being validated.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from funnel.events import SOURCES, InvalidEventError, Rejected, Source, validate_event


@dataclass(slots=True)
class Verdict:
    """One chunk's valid events as they came, by source, and its rejected elements.

    Both keep input order; `Rejected.index` is the element's position in the request.
    """

    valid: dict[Source, list[dict[str, Any]]] = field(
        default_factory=lambda: {source: [] for source in SOURCES}
    )
    rejected: list[Rejected] = field(default_factory=list)


async def sort_events(elements: list[object], *, chunk: int) -> AsyncIterator[Verdict]:
    """Validate every element on its own; one `Verdict` per `chunk` elements, in order."""
    for start in range(0, len(elements), chunk):
        if start:
            await asyncio.sleep(0)
        verdict = Verdict()
        valid, rejected = verdict.valid, verdict.rejected
        for index in range(start, min(start + chunk, len(elements))):
            raw = elements[index]
            # One element at a time, keeping only the raw dict: holding 50,000 models alive
            # at once would cost more in garbage collection than the validation itself.
            try:
                event = validate_event(raw)
            except InvalidEventError as exc:
                rejected.append(Rejected(index, raw, exc.errors))
            else:
                valid[event.source].append(raw)  # type: ignore[arg-type]  # validated: a dict
        yield verdict
