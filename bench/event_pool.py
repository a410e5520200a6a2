"""The publisher's requests at a tenth of the emulator's CPU: made events sent again under new
ids and the present time.

A soak runs the publisher's pattern for hours on the machine it measures; the emulator makes
each event field by field (~13 us an event here), a third of a core at 25,000 events a second
that the real publisher would spend on its own machine. `EventPool` makes `size` events with
the emulator once, keeps each as its JSON with holes where its ids and times go, and fills
the holes for every request: a fresh `eventId` and `userId` per event (the first 8 hex digits
of each UUID become a counter, so no two events of a run share either, as with the
publisher's random UUIDs), and the request's timestamps stepping at the publisher's pace up
to now, each `actionTime` as far after its `timestamp` as in the made event. Everything else
(sources, stages, types, names, places, amounts, followers) repeats every `size` events.
"""

import random
import re
import string
from datetime import UTC, datetime
from typing import Final, NamedTuple

import orjson

from bench.e2e import EventKey
from funnel.db import event_key
from funnel.publisher.corruption import corrupt
from funnel.publisher.generator import generate_batch, generate_event, request_stamps

# Markers put where the holes go; JSON writes these control characters as \u000N.
_EVENT_ID, _USER_ID, _TIMESTAMP, _ACTION_TIME, _CAMPAIGN = "\x01", "\x02", "\x03", "\x04", "\x05"
_HOLE: Final = re.compile(rb"\\u000([1-5])")
_UUID_HEAD: Final = 8  # hex digits of a UUID replaced by the counter


class _Template(NamedTuple):
    parts: tuple[bytes, ...]  # JSON between the holes
    holes: tuple[int, ...]  # which hole follows each part but the last (1..5)
    id_prefix: str  # `fb-` or `ttk-`
    id_tail: str  # the eventId's UUID after its first 8 hex digits
    lag_ms: int  # `actionTime` - `timestamp`
    source: str


def _template(event: dict[str, object]) -> _Template:
    event_id = str(event["eventId"])
    prefix, uuid = event_id.split("-", 1)
    data = event["data"]
    assert isinstance(data, dict)
    user, engagement = data["user"], data["engagement"]
    stamp = datetime.fromisoformat(str(event["timestamp"]))
    action = engagement.get("actionTime")
    lag_ms = (
        0
        if action is None
        else round((datetime.fromisoformat(action) - stamp).total_seconds() * 1000)
    )
    event["eventId"] = f"{prefix}-{_EVENT_ID}{uuid[_UUID_HEAD:]}"
    user["userId"] = _USER_ID + str(user["userId"])[_UUID_HEAD:]
    event["timestamp"] = _TIMESTAMP
    if action is not None:
        engagement["actionTime"] = _ACTION_TIME
    if engagement.get("campaignId") is not None:
        engagement["campaignId"] = "camp-" + _CAMPAIGN
    pieces = _HOLE.split(orjson.dumps(event))
    return _Template(
        parts=tuple(pieces[0::2]),
        holes=tuple(int(hole) for hole in pieces[1::2]),
        id_prefix=f"{prefix}-",
        id_tail=uuid[_UUID_HEAD:],
        lag_ms=lag_ms,
        source=str(event["source"]),
    )


# The publisher's `string.alphanumeric`: digits and letters of both cases.
_LETTERS: Final = string.digits.encode() + string.ascii_letters.encode()
_CAMPAIGNS: Final = len(_LETTERS) ** 5
# Prime to 62: times it is a bijection modulo 62**5, so consecutive counters give distinct
# campaigns spread over the whole key range, as the publisher's five random characters.
_SPREAD: Final = 2_654_435_761


def _campaign(serial: int) -> bytes:
    """Five characters for the counter `serial`, distinct for 62**5 (~916 million) counters."""
    code = serial * _SPREAD % _CAMPAIGNS
    letters = bytearray(5)
    for place in range(5):
        code, letter = divmod(code, len(_LETTERS))
        letters[place] = _LETTERS[letter]
    return bytes(letters)


class EventPool:
    """`size` emulator events, filled in anew for every request (see the module's doc)."""

    def __init__(self, rng: random.Random, size: int = 200_000) -> None:
        self._rng = rng
        self._templates = [_template(event) for event in generate_batch(rng, size)]
        self._next = 0  # the next template
        self._serial = 0  # the counter in ids

    def body(
        self, count: int, corrupt_ratio: float, samples: int, now: datetime | None = None
    ) -> tuple[bytes, list[EventKey]]:
        """One request of `count` events made up to `now`, with one corrupted event after
        them with probability `corrupt_ratio`; and how `events` names `samples` of them."""
        now = now or datetime.now(UTC)
        stamps, millis = request_stamps(count, now)
        encoded = [stamp.encode() for stamp in stamps]
        chosen = set(self._rng.sample(range(count), min(samples, count)))
        picked: list[EventKey] = []
        out: list[bytes] = [b"["]
        templates, size = self._templates, len(self._templates)
        for index, ms in enumerate(millis):
            template = templates[self._next]
            self._next = (self._next + 1) % size
            serial = f"{self._serial & 0xFFFFFFFF:08x}"
            self._serial += 1
            counter = serial.encode()
            # Indexed by hole: eventId, userId, timestamp, actionTime, campaignId.
            fills = (
                b"",
                counter,
                counter,
                encoded[ms],
                encoded[ms + template.lag_ms],
                _campaign(self._serial) if 5 in template.holes else b"",
            )
            parts = template.parts
            for part, hole in zip(parts, template.holes, strict=False):
                out.append(part)
                out.append(fills[hole])
            out.append(parts[-1])
            out.append(b",")
            if index in chosen:
                event_id = template.id_prefix + serial + template.id_tail
                stamp = datetime.fromisoformat(stamps[ms])
                picked.append((stamp, event_key(event_id), template.source))
        if self._rng.random() < corrupt_ratio:
            out.append(orjson.dumps(corrupt(generate_event(self._rng, now=now), self._rng)))
        elif count:
            out.pop()  # the last comma
        out.append(b"]")
        return b"".join(out), picked
