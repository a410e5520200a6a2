"""Replaying dead letters: publish their content again where it belongs, then remove them.

- "undeliverable" letters (a batch a collector gave up on) go back, byte for byte, to the
  subject they came from.
- "rejected-input" letters (webhook events that failed validation) are validated again,
  optionally replaced by fixed events from a file, and only the now-valid events are
  published, in batches per source; events still invalid go to a new dead letter.

Every replayed message has a `Nats-Msg-Id` derived from the dead letter and the content, so
replaying again after a crash (before the letter was removed) is dropped by the stream's
duplicate window; once replayed, the letter is deleted, so a second replay finds nothing.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from funnel.dlq.inventory import Selection, select_dead_letters
from funnel.events import Source, Subjects, ValidEvent, validate_events
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    DeadLetter,
    DeadLetterKind,
    DeadLetters,
    JetStreamConnection,
    OutboundMessage,
    Publisher,
    delete_message,
    json_batches,
)
from funnel.observability import CORRELATION_HEADER


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What happened to one dead letter."""

    sequence: int
    kind: DeadLetterKind
    events: int
    messages: int
    still_invalid: int
    removed: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class _StillInvalid:
    """A rejected event, at its position in the original request."""

    index: int
    event_id: str | None
    raw: Any
    errors: Sequence[Any]


async def replay(
    conn: JetStreamConnection,
    subjects: Subjects,
    selection: Selection,
    *,
    fixed_events: Sequence[object] | None = None,
    dry_run: bool = False,
) -> list[ReplayOutcome]:
    """Replay the selected dead letters, in sequence order; raises `PublishError` on failure.

    `fixed_events` replaces the events of the one selected rejected-input letter.
    """
    letters = await select_dead_letters(conn, subjects, selection)
    if fixed_events is not None and (len(letters) != 1 or letters[0].kind != "rejected-input"):
        raise ValueError("fixed events replace exactly one rejected-input dead letter")
    replayer = _Replayer(conn, subjects, dry_run=dry_run)
    return [await replayer.replay(letter, fixed_events) for letter in letters]


class _Replayer:
    def __init__(self, conn: JetStreamConnection, subjects: Subjects, *, dry_run: bool) -> None:
        self._conn = conn
        self._subjects = subjects
        self._dry_run = dry_run
        self._publisher = Publisher(conn)

    async def replay(
        self, letter: DeadLetter, fixed_events: Sequence[object] | None
    ) -> ReplayOutcome:
        if letter.kind == "undeliverable":
            return await self._replay_undeliverable(letter)
        return await self._replay_rejected(letter, fixed_events)

    def _msg_id(self, letter: DeadLetter, *parts: object) -> str:
        return ":".join(
            ["replay", self._subjects.dead_letter_stream, str(letter.sequence)]
            + [str(part) for part in parts]
        )

    async def _replay_undeliverable(self, letter: DeadLetter) -> ReplayOutcome:
        if not letter.original_subject:
            return ReplayOutcome(
                letter.sequence, letter.kind, 0, 0, 0, False, "no original subject: kept"
            )
        headers = _batch_headers(letter.correlation_id, letter.event_count)
        message = OutboundMessage(
            subject=letter.original_subject,
            payload=letter.body,
            msg_id=self._msg_id(letter),
            headers=headers,
        )
        await self._publish_and_remove(letter, [message])
        events = letter.event_count or 0
        return ReplayOutcome(letter.sequence, letter.kind, events, 1, 0, not self._dry_run)

    async def _replay_rejected(
        self, letter: DeadLetter, fixed_events: Sequence[object] | None
    ) -> ReplayOutcome:
        if fixed_events is None:
            entries = letter.rejected_entries()
            events: list[object] = [entry.get("event") for entry in entries]
            positions = [_position(entry, number) for number, entry in enumerate(entries)]
        else:
            events = list(fixed_events)
            positions = list(range(len(events)))
        validation = validate_events(events)
        if not validation.valid and fixed_events is None:
            return ReplayOutcome(
                letter.sequence, letter.kind, 0, 0, len(events), False, "still invalid: kept"
            )
        messages = self._batches(letter, validation.valid)
        still_invalid = [
            _StillInvalid(positions[item.index], item.event_id, item.raw, item.errors)
            for item in validation.rejected
        ]
        if still_invalid and not self._dry_run:
            # Back where rejected input waits, under the origin that first rejected it.
            leftover = DeadLetters(
                self._publisher, subject=self._subjects.dlq_gateway, origin=letter.origin
            )
            await leftover.reject(
                still_invalid,
                correlation_id=letter.correlation_id,
                msg_id=self._msg_id(letter, "invalid"),
            )
        await self._publish_and_remove(letter, messages)
        note = "still-invalid events moved to a new dead letter" if still_invalid else ""
        return ReplayOutcome(
            letter.sequence,
            letter.kind,
            len(validation.valid),
            len(messages),
            len(still_invalid),
            not self._dry_run,
            note,
        )

    def _batches(self, letter: DeadLetter, valid: Sequence[ValidEvent]) -> list[OutboundMessage]:
        by_source: dict[Source, list[Any]] = {}
        for item in valid:
            by_source.setdefault(item.source, []).append(item.raw)
        messages: list[OutboundMessage] = []
        for source, items in by_source.items():
            for number, batch in enumerate(json_batches(items)):
                messages.append(
                    OutboundMessage(
                        subject=self._subjects.events(source),
                        payload=batch.payload,
                        msg_id=self._msg_id(letter, source, number, zlib.crc32(batch.payload)),
                        headers=_batch_headers(letter.correlation_id, len(batch.items)),
                    )
                )
        return messages

    async def _publish_and_remove(
        self, letter: DeadLetter, messages: Sequence[OutboundMessage]
    ) -> None:
        if self._dry_run:
            return
        await self._publisher.publish_all(messages)
        # Only after every ack: a crash in between means a re-replay, which dedupes.
        await delete_message(self._conn, self._subjects.dead_letter_stream, letter.sequence)


def _batch_headers(correlation_id: str | None, event_count: int | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    if event_count is not None:
        headers[EVENT_COUNT_HEADER] = str(event_count)
    return headers


def _position(entry: dict[str, Any], fallback: int) -> int:
    index = entry.get("index")
    return index if isinstance(index, int) else fallback
