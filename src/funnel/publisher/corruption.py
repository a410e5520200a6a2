"""The upstream publisher's corruptions (contract section 1), as it applies them.

Upstream has two corrupt functions, Facebook's and TikTok's, and picks one 50/50 whatever
the event's source; each then applies one of eight corruptions, evenly. Five are the same in
both; three differ: the user's `name` or `username` is deleted, the engagement is broken by
stage (top: `actionTime` or `watchTime` set to -1; bottom: `adId` or `purchasedItem`
deleted if it has one), and `gender` is set to "alien" or `followers` to "not-a-number".
So a corruption may add a field the source does not have (rejected as unknown) or delete
one the event does not have: then the event is unchanged and still valid, as for ~10.4% of
the corrupted events (5 in 48). `invalidate` draws again until the event did change.
"""

import copy
import random
from collections.abc import Callable, Mapping
from typing import Any, Final

from funnel.events import Source

Corruption = Callable[[dict[str, Any], Source], None]
"""Changes a JSON-ready event in place as the corrupt function of the given source does."""


def invalid_timestamp(event: dict[str, Any], corruptor: Source) -> None:
    event["timestamp"] = "invalid-timestamp"


def missing_event_id(event: dict[str, Any], corruptor: Source) -> None:
    event.pop("eventId", None)


def missing_user_name(event: dict[str, Any], corruptor: Source) -> None:
    event["data"]["user"].pop("name" if corruptor == "facebook" else "username", None)


def missing_user(event: dict[str, Any], corruptor: Source) -> None:
    event["data"].pop("user", None)


def invalid_stage(event: dict[str, Any], corruptor: Source) -> None:
    event["funnelStage"] = "invalid-stage"


def event_type_array(event: dict[str, Any], corruptor: Source) -> None:
    event["eventType"] = ["unknown", "event"]


def broken_engagement(event: dict[str, Any], corruptor: Source) -> None:
    """By the event's stage: a time set to -1 (top), an id or item deleted if truthy (bottom)."""
    engagement = event["data"]["engagement"]
    if event["funnelStage"] == "top":
        engagement["actionTime" if corruptor == "facebook" else "watchTime"] = -1
        return
    key = "adId" if corruptor == "facebook" else "purchasedItem"
    if engagement.get(key):
        del engagement[key]


def broken_user_field(event: dict[str, Any], corruptor: Source) -> None:
    user = event["data"].get("user")
    if user is not None:
        if corruptor == "facebook":
            user["gender"] = "alien"
        else:
            user["followers"] = "not-a-number"


CORRUPTIONS: Final[Mapping[str, Corruption]] = {
    corruption.__name__: corruption
    for corruption in (
        invalid_timestamp,
        missing_event_id,
        missing_user_name,
        missing_user,
        invalid_stage,
        event_type_array,
        broken_engagement,
        broken_user_field,
    )
}
"""The eight corruptions by name, in upstream's order."""


def corrupt(
    event: dict[str, Any],
    rng: random.Random,
    kind: str | None = None,
    corruptor: Source | None = None,
) -> dict[str, Any]:
    """A corrupted copy of `event`, drawn as upstream draws it; `kind` and `corruptor` fix
    the corruption and whose corrupt function applies it. The copy may equal `event`."""
    if corruptor is None:
        corruptor = "facebook" if rng.random() < 0.5 else "tiktok"
    if kind is None:
        kind = rng.choice(tuple(CORRUPTIONS))
    corrupted = copy.deepcopy(event)
    CORRUPTIONS[kind](corrupted, corruptor)
    return corrupted


def invalidate(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of `event` that upstream's corruptions changed, so a strict receiver rejects it:
    drawn as `corrupt` draws, again while a draw leaves the event as it was."""
    while (corrupted := corrupt(event, rng)) == event:
        pass
    return corrupted
