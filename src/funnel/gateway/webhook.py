"""`POST /webhook`: read, validate, batch, publish, and answer only once JetStream has it all.

The path of one request: refuse if draining -> refuse unread what cannot be taken now (a
`Content-Length` over the byte limit: 413; `EVENTS` full at the last look: 503; the body
would pass the in-flight bound: 503) -> read the body under the byte limit -> parse ->
validate each element in chunks, yielding to the loop, and publish each batch of valid
events of a source as soon as it is full -> the rest, and the rejected elements as one dead
letter -> wait for every ack -> 202. Parsing and validating are CPU-bound; requests take
turns at them, so under load they finish one after another instead of all together late.
Refusals are `WebhookError`s, translated to answers, metrics and a log line in
`Webhook.receive` alone.
"""

import asyncio
import time
from collections import Counter
from typing import Any, Final

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from funnel.events import SOURCES, FieldError, Rejected, Source, Subjects
from funnel.gateway.answer import accepted_answer, refusal_answer
from funnel.gateway.batching import Batcher, request_key
from funnel.gateway.body import declared_length, decode_elements, read_body
from funnel.gateway.errors import (
    ShuttingDownError,
    StoreUnavailableError,
    StreamFullError,
    WebhookError,
)
from funnel.gateway.in_flight import InFlightBytes
from funnel.gateway.intake import validate_in_chunks
from funnel.gateway.metrics import UNKNOWN_SOURCE, GatewayMetrics
from funnel.gateway.publication import Publication
from funnel.gateway.room import StreamRoom
from funnel.gateway.settings import GatewaySettings
from funnel.jetstream import DeadLetters, Publisher, PublishError
from funnel.observability import Readiness, new_correlation_id

_log = structlog.get_logger(__name__)

_LOGGED_REJECTIONS: Final = 10


class Webhook:
    """Takes webhook requests for one app; built by the lifespan, found in request state."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        subjects: Subjects,
        publisher: Publisher,
        dead_letters: DeadLetters,
        metrics: GatewayMetrics,
        readiness: Readiness,
        room: StreamRoom,
    ) -> None:
        self._settings = settings
        self._subjects = subjects
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._readiness = readiness
        self._room = room
        self._bodies = InFlightBytes(settings.max_in_flight_bytes, metrics.in_flight_bytes)
        self._intake_slots = asyncio.Semaphore(settings.intake_concurrency)
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def wait_idle(self) -> None:
        """Return once no request is inside (at once if none is)."""
        await self._idle.wait()

    async def receive(self, request: Request) -> Response:
        """Answer one webhook request; never raises for anything the client did."""
        correlation_id: str = getattr(request.state, "correlation_id", None) or new_correlation_id()
        started = time.perf_counter()
        self._enter()
        try:
            response = await self._receive(request, correlation_id)
        except WebhookError as error:
            response = self._refuse(error, correlation_id)
        finally:
            self._leave()
        self._metrics.request_duration.observe(time.perf_counter() - started)
        self._metrics.requests.labels(status=str(response.status_code)).inc()
        return response

    async def _receive(self, request: Request, correlation_id: str) -> Response:
        settings = self._settings
        if self._readiness.is_draining:
            raise ShuttingDownError("the gateway is shutting down; send to another replica")
        # A failover to another cluster node takes a fraction of a second: too short for
        # readiness to show, so a request waits for it. Past the grace it is refused: held
        # until NATS returns, requests would pile up unanswered (the publisher sends every
        # second regardless) and a 2xx would come only later.
        if not await self._publisher.wait_connected(settings.nats_reconnect_grace_seconds):
            raise StoreUnavailableError("NATS is not connected; JetStream cannot store events")
        started = time.perf_counter()
        # 413 first: a body over the limit is refused for good, whatever the stream's room.
        declared = declared_length(request, settings.max_body_bytes)
        self._room.refuse_if_full()
        # The body's bytes stay held until the answer: parsed and publishing, it weighs more.
        with self._bodies.hold(declared or 0) as hold:
            body = await read_body(request, settings.max_body_bytes, hold)
            publication = Publication(self._publisher)
            try:
                # Uploads and acks overlap freely; the CPU-bound middle takes turns (settings).
                async with self._intake_slots:
                    elements = await decode_elements(
                        body, settings.max_events, piece_bytes=settings.parse_piece_bytes
                    )
                    key = request_key(correlation_id, body)
                    del body
                    accepted, rejected = await self._validate_and_start_publishing(
                        elements, correlation_id, key, publication
                    )
                    del elements
                await self._finish(publication, accepted)
            except BaseException:
                publication.cancel()
                raise
        for source, count in accepted.items():
            self._metrics.events_processed.labels(source=source).inc(count)
        _log.info(
            "webhook_accepted",
            count=accepted.total(),
            rejected=len(rejected),
            messages=publication.messages,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return accepted_answer(
            accepted=accepted.total(),
            rejected=rejected,
            correlation_id=correlation_id,
            max_errors=settings.max_errors_in_answer,
        )

    async def _validate_and_start_publishing(
        self, elements: list[object], correlation_id: str, key: str, publication: Publication
    ) -> tuple[Counter[Source], list[Rejected]]:
        """Validate the elements and start publishing them into `publication`: each batch as
        soon as it is full, then the rest and the dead letter (`_finish` awaits the acks).
        Returns the valid events' count by source and the rejected elements."""
        settings = self._settings
        batcher = Batcher(
            subjects=self._subjects,
            correlation_id=correlation_id,
            key=key,
            max_events=settings.batch_max_events,
            max_bytes=settings.batch_max_bytes,
        )
        accepted: Counter[Source] = Counter()
        rejected: list[Rejected] = []
        async for verdict in validate_in_chunks(elements, chunk=settings.validation_chunk_events):
            for source, events in verdict.valid.items():
                accepted[source] += len(events)
                publication.start(batcher.add(source, events))
            rejected.extend(verdict.rejected)
        publication.start(batcher.flush())
        if batcher.oversized:
            rejected = sorted(
                [*rejected, *_oversized(batcher, elements, accepted)], key=lambda r: r.index
            )
        if rejected:
            letter = self._dead_letters.reject(
                rejected, correlation_id=correlation_id, msg_id=f"{key}:rejected"
            )
            publication.start_write(letter)
        self._count_verdict(accepted, rejected)
        return accepted, rejected

    async def _finish(self, publication: Publication, accepted: Counter[Source]) -> None:
        try:
            await publication.finish()
        except PublishError as exc:
            if exc.full:
                self._room.notice_refusal()
            refusal = StreamFullError if exc.full else StoreUnavailableError
            raise refusal(
                f"JetStream did not store every message of the request: {exc}",
                events={source: count for source, count in accepted.items() if count},
                messages=exc.total,
                stored=exc.total - exc.failed,
            ) from exc

    def _count_verdict(self, accepted: Counter[Source], rejected: list[Rejected]) -> None:
        metrics = self._metrics
        for source, count in accepted.items():
            if count:
                metrics.events_accepted.labels(source=source).inc(count)
        for claimed, count in _sources_of(rejected).items():
            metrics.events_failed.labels(source=claimed, reason="validation").inc(count)
        # The answer and the dead letter hold every rejection; the log names the first few.
        for entry in rejected[:_LOGGED_REJECTIONS]:
            first = entry.errors[0] if entry.errors else None
            _log.info(
                "event_rejected",
                index=entry.index,
                event_id=entry.event_id,
                error=f"{first.path}: {first.message}" if first else None,
            )

    def _refuse(self, error: WebhookError, correlation_id: str) -> Response:
        for source, count in error.events.items():
            self._metrics.events_failed.labels(source=source, reason=error.reason).inc(count)
        self._metrics.requests_refused.labels(reason=error.reason).inc()
        if error.logged:
            log = _log.warning if error.status_code >= 500 else _log.info
            log(
                "webhook_refused",
                status=error.status_code,
                reason=error.reason,
                error=error.message,
            )
        return refusal_answer(error, correlation_id)

    def _enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()
        self._metrics.requests_in_flight.inc()

    def _leave(self) -> None:
        self._in_flight -= 1
        self._metrics.requests_in_flight.dec()
        if self._in_flight == 0:
            self._idle.set()


def _oversized(
    batcher: Batcher, elements: list[object], accepted: Counter[Source]
) -> list[Rejected]:
    """The events `batcher` left out of its messages, rejected and no longer `accepted`.

    Their dead letter cannot hold them either: it keeps what names each one.
    """
    index_of = {id(element): index for index, element in enumerate(elements)}
    rejected = []
    for event, size in batcher.oversized:
        accepted[event["source"]] -= 1
        reason = FieldError(
            "", f"Event should be at most {batcher.max_bytes:,} bytes of JSON, not {size:,}"
        )
        rejected.append(Rejected(index_of[id(event)], event, [reason]))
    return rejected


def _sources_of(rejected: list[Rejected]) -> Counter[str]:
    """The claimed source of each rejected element, `unknown` when it names none we know."""
    sources: Counter[str] = Counter()
    for entry in rejected:
        raw: Any = entry.raw
        claimed = raw.get("source") if isinstance(raw, dict) else None
        sources[claimed if claimed in SOURCES else UNKNOWN_SOURCE] += 1
    return sources


def webhook_router() -> APIRouter:
    """`POST /webhook`, served by the `webhook` object of the lifespan state."""
    router = APIRouter(tags=["webhook"])

    @router.post(
        "/webhook",
        status_code=202,
        summary="Publisher events in, stored in JetStream before the answer",
        responses={
            400: {"description": "the body is not JSON, or not an array/object"},
            413: {"description": "more bytes or more events than one request may carry"},
            503: {
                "description": "JetStream did not store everything or is full (`stream_full`), "
                "too many bodies in flight (`overloaded`), or shutting down; full and "
                "overloaded name a wait in `Retry-After`"
            },
        },
    )
    async def webhook(request: Request) -> Response:
        handler: Webhook = request.state.webhook
        return await handler.receive(request)

    return router
