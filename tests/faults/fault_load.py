"""A publisher-like load whose every event is accounted for.

The emulator's answers carry no event ids, so the fault tests drive the gateway themselves:
every `interval` a POST of the emulator's events, some requests with one corrupted event at
the end (`draw_request`, as upstream does), each request not waiting for the previous one.
Every request keeps its valid events' ids (a corruption that changed nothing left its event
valid), the index of an invalid corrupted event and the event it came from (what a fix would
send), and the status it got (0 when no answer came).
"""

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from funnel.publisher import draw_request

NO_ANSWER = 0


@dataclass
class Post:
    """One webhook request and what the gateway answered."""

    correlation_id: str
    valid_ids: list[str]
    bad_indexes: list[int]
    originals: list[dict[str, Any]]
    status: int = NO_ANSWER
    answer: dict[str, Any] | None = None
    answered_at: float | None = None
    """`time.monotonic()` when the answer came."""
    fixed: bool = False
    """Its dead-lettered events were replaced by their `originals` and replayed."""

    @property
    def is_accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def stored_ids(self) -> list[str]:
        """The ids that belong in the events table once the request was accepted."""
        fixed = [original["eventId"] for original in self.originals] if self.fixed else []
        return self.valid_ids + fixed

    @property
    def events(self) -> int:
        return len(self.valid_ids) + len(self.bad_indexes)


@dataclass
class Load:
    """Requests to `url` every `interval` seconds until stopped; `posts` records them all."""

    url: str
    seed: int
    min_events: int = 100
    max_events: int = 400
    interval: float = 0.2
    corrupt_ratio: float = 0.3
    posts: list[Post] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sending and wait for every answer (each request is bounded by its timeout)."""
        self._stop.set()
        assert self._task is not None, "the load was never started"
        await self._task

    async def send(self, count: int) -> None:
        """Exactly `count` requests, then wait for their answers."""
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*(self._post(client) for _ in range(count)))

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            sending: set[asyncio.Task[None]] = set()
            while not self._stop.is_set():
                task = asyncio.create_task(self._post(client))
                sending.add(task)
                task.add_done_callback(sending.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.interval)
            await asyncio.gather(*sending)

    def _next_request(self) -> tuple[Post, list[Any]]:
        rng = self._rng
        drawn = draw_request(rng, rng.randint(self.min_events, self.max_events), self.corrupt_ratio)
        events: list[Any] = drawn.events
        invalid = drawn.corrupted and not drawn.unchanged
        post = Post(
            correlation_id=f"fault-{uuid.UUID(int=rng.getrandbits(128)).hex}",
            valid_ids=[event["eventId"] for event in events[: len(events) - invalid]],
            bad_indexes=[len(events) - 1] if invalid else [],
            originals=[drawn.original] if invalid and drawn.original is not None else [],
        )
        return post, events

    async def _post(self, client: httpx.AsyncClient) -> None:
        post, events = self._next_request()
        self.posts.append(post)
        try:
            response = await client.post(
                self.url, json=events, headers={"X-Correlation-ID": post.correlation_id}
            )
        except httpx.TransportError:
            return
        post.answered_at = time.monotonic()
        post.status = response.status_code
        if post.is_accepted:
            post.answer = response.json()

    @property
    def statuses(self) -> Counter[int]:
        return Counter(post.status for post in self.posts)

    @property
    def accepted(self) -> list[Post]:
        return [post for post in self.posts if post.is_accepted]

    def accepted_ids(self) -> set[str]:
        """The events the gateway acknowledged, and those fixed and replayed since."""
        return {event_id for post in self.accepted for event_id in post.stored_ids}

    def sent_ids(self) -> set[str]:
        return {event_id for post in self.posts for event_id in post.stored_ids}
