"""`POST /webhook`: read, validate, batch, publish, and answer only once JetStream has it all.

The path of one request: refuse if draining -> read the body under the byte limit -> parse
-> validate each element (in chunks, yielding to the loop) -> valid events become batch
messages per source, rejected ones one dead letter -> publish everything concurrently and
wait for every ack -> 202. Parsing to batching is CPU-bound; requests take turns at it, so
under load they finish one after another instead of all together late. Refusals are
`WebhookError`s, translated to answers, metrics and a log line in `Webhook.receive` alone.
"""

import asyncio
import time
from collections import Counter
from typing import Any, Final

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from funnel.events import SOURCES, Rejected, Subjects
from funnel.gateway.answer import accepted_answer, refusal_answer
from funnel.gateway.batching import batch_messages, request_key
from funnel.gateway.body import decode_elements, read_body
from funnel.gateway.errors import ShuttingDownError, StoreUnavailableError, WebhookError
from funnel.gateway.intake import Intake, sort_events
from funnel.gateway.metrics import UNKNOWN_SOURCE, GatewayMetrics
from funnel.gateway.settings import GatewaySettings
from funnel.jetstream import JetStreamError, OutboundMessage, Publisher, PublishError, RejectedInput
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
        metrics: GatewayMetrics,
        readiness: Readiness,
    ) -> None:
        self._settings = settings
        self._subjects = subjects
        self._publisher = publisher
        self._metrics = metrics
        self._readiness = readiness
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
        started = time.perf_counter()
        body = await read_body(request, settings.max_body_bytes)
        # Uploads and acks overlap freely; the CPU-bound middle takes turns (see settings).
        async with self._intake_slots:
            elements = decode_elements(body, settings.max_events)
            intake = await sort_events(elements, chunk=settings.validation_chunk_events)
            del elements
            self._count_verdict(intake)
            messages = self._messages(intake, correlation_id, request_key(correlation_id, body))
            del body
        await self._publish(messages, intake)
        for source, events in intake.valid.items():
            if events:
                self._metrics.events_processed.labels(source=source).inc(len(events))
        _log.info(
            "webhook_accepted",
            count=intake.accepted,
            rejected=len(intake.rejected),
            messages=len(messages),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return accepted_answer(
            accepted=intake.accepted,
            rejected=intake.rejected,
            correlation_id=correlation_id,
            max_errors=settings.max_errors_in_answer,
        )

    def _messages(self, intake: Intake, correlation_id: str, key: str) -> list[OutboundMessage]:
        settings = self._settings
        messages = batch_messages(
            intake.valid,
            subjects=self._subjects,
            correlation_id=correlation_id,
            key=key,
            max_events=settings.batch_max_events,
            max_bytes=settings.batch_max_bytes,
        )
        if intake.rejected:
            letter = RejectedInput(intake.rejected, correlation_id, msg_id=f"{key}:rejected")
            messages.extend(letter.messages(self._subjects.dlq_gateway))
        return messages

    async def _publish(self, messages: list[OutboundMessage], intake: Intake) -> None:
        try:
            await self._publisher.publish_all(messages)
        except JetStreamError as exc:
            total, failed = len(messages), len(messages)
            if isinstance(exc, PublishError):
                total, failed = exc.total, exc.failed
            lost: dict[str, int] = {
                source: len(events) for source, events in intake.valid.items() if events
            }
            raise StoreUnavailableError(
                f"JetStream did not store every message of the request: {exc}",
                events=lost,
                messages=total,
                stored=total - failed,
            ) from exc

    def _count_verdict(self, intake: Intake) -> None:
        metrics = self._metrics
        for source, events in intake.valid.items():
            if events:
                metrics.events_accepted.labels(source=source).inc(len(events))
        for claimed, count in _sources_of(intake.rejected).items():
            metrics.events_failed.labels(source=claimed, reason="validation").inc(count)
        # The answer and the dead letter hold every rejection; the log names the first few.
        for entry in intake.rejected[:_LOGGED_REJECTIONS]:
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
            503: {"description": "JetStream did not store everything, or shutting down"},
        },
    )
    async def webhook(request: Request) -> Response:
        handler: Webhook = request.state.webhook
        return await handler.receive(request)

    return router
