"""The upstream publisher's eight corruptions (contract section 1), as named functions.

Like upstream, a corruption is chosen without looking at the event's source, so some of them
add a field the source does not have (`gender` on a TikTok user), which a strict receiver
rejects as unknown. Every corruption leaves the event invalid: where upstream's alternative
would delete a field the engagement lacks (`adId` from a top-funnel engagement), ours falls
back to another of its alternatives, so a receiver's rejected count equals the emulator's
corrupted count.
"""

import copy
import random
from collections.abc import Callable, Mapping
from typing import Any, Final

Corruption = Callable[[dict[str, Any], random.Random], dict[str, Any]]
"""Mutates a JSON-ready event so that it is invalid, and returns it."""


def invalid_timestamp(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    event["timestamp"] = "invalid-timestamp"
    return event


def missing_event_id(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    event.pop("eventId", None)
    return event


def missing_user_name(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    user = event["data"]["user"]
    user.pop("name", None)
    user.pop("username", None)
    return event


def missing_user(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    event["data"].pop("user", None)
    return event


def invalid_stage(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    event["funnelStage"] = "invalid-stage"
    return event


def event_type_array(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    event["eventType"] = [event.get("eventType")]
    return event


def broken_engagement(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """`actionTime`/`watchTime` set to -1, or `adId`/`purchasedItem` deleted."""
    engagement = event["data"]["engagement"]
    if rng.random() < 0.5:
        dropped = [engagement.pop(key) for key in ("adId", "purchasedItem") if key in engagement]
        if dropped:
            return event
    engagement[rng.choice(("actionTime", "watchTime"))] = -1
    return event


def broken_user_field(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """`gender` set to "alien" or `followers` to "not-a-number", whatever the source."""
    user = event["data"]["user"]
    if rng.random() < 0.5:
        user["gender"] = "alien"
    else:
        user["followers"] = "not-a-number"
    return event


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
"""The eight corruptions by name, in the contract's order."""


def corrupt(event: dict[str, Any], rng: random.Random, kind: str | None = None) -> dict[str, Any]:
    """A corrupted copy of `event`: by the corruption named `kind`, or one picked at random."""
    name = rng.choice(tuple(CORRUPTIONS)) if kind is None else kind
    return CORRUPTIONS[name](copy.deepcopy(event), rng)
