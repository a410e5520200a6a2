"""Finding dead letters: all of them (optionally from one origin), or one by sequence."""

import contextlib
from dataclasses import dataclass

from funnel.events import Subjects
from funnel.jetstream import (
    DeadLetter,
    JetStreamConnection,
    get_message,
    read_dead_letter,
    read_messages,
)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters: these sequences, or every one from `origin` ("gateway",
    "fb-collector", ...), or every one at all when both are empty."""

    sequences: tuple[int, ...] = ()
    origin: str | None = None

    def subject(self, subjects: Subjects) -> str:
        return subjects.dlq(self.origin) if self.origin else subjects.all_dead_letters


async def list_dead_letters(
    conn: JetStreamConnection, subjects: Subjects, origin: str | None = None
) -> list[DeadLetter]:
    """Every dead letter, oldest first; messages that are not Funnel dead letters are skipped."""
    subject = Selection(origin=origin).subject(subjects)
    letters: list[DeadLetter] = []
    async with contextlib.aclosing(
        read_messages(conn, subjects.dead_letter_stream, subject)
    ) as stored:
        async for message in stored:
            with contextlib.suppress(ValueError):
                letters.append(read_dead_letter(message))
    return letters


async def get_dead_letter(
    conn: JetStreamConnection, subjects: Subjects, sequence: int
) -> DeadLetter:
    """The dead letter at `sequence`; `MessageNotFoundError` if none, ValueError if foreign."""
    return read_dead_letter(await get_message(conn, subjects.dead_letter_stream, sequence))


async def select_dead_letters(
    conn: JetStreamConnection, subjects: Subjects, selection: Selection
) -> list[DeadLetter]:
    """The selected dead letters, in sequence order."""
    if not selection.sequences:
        return await list_dead_letters(conn, subjects, selection.origin)
    return [
        await get_dead_letter(conn, subjects, sequence)
        for sequence in sorted(set(selection.sequences))
    ]
