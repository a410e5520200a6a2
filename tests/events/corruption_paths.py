"""Where each of upstream's corruptions must be reported, read off its `events.mjs`, so tests
can hold `funnel.publisher.corrupt` and the validation to it without asking either."""

from typing import Any

from funnel.events import Source

# (kind, corruptor) -> the path that corruption breaks on every event.
_ALWAYS: dict[str, str] = {
    "invalid_timestamp": "timestamp",
    "missing_event_id": "eventId",
    "missing_user": "data.user",
    "invalid_stage": "funnelStage",
    "event_type_array": "eventType",
}


def expected_path(kind: str, corruptor: Source, event: dict[str, Any]) -> str | None:
    """The path rejected once `corruptor`'s corrupt function applied `kind` to `event`, or
    None when that corruption leaves `event` unchanged (so valid)."""
    if kind in _ALWAYS:
        return _ALWAYS[kind]
    facebook = corruptor == "facebook"
    if kind == "missing_user_name":
        # Deleting a member the user does not have changes nothing.
        if corruptor != event["source"]:
            return None
        return "data.user.name" if facebook else "data.user.username"
    if kind == "broken_user_field":
        # Set on any user: an invalid value, or a member the source does not have.
        return "data.user.gender" if facebook else "data.user.followers"
    assert kind == "broken_engagement", kind
    if event["funnelStage"] == "top":
        return "data.engagement.actionTime" if facebook else "data.engagement.watchTime"
    # Bottom funnel: deleted only when present and truthy.
    key = "adId" if facebook else "purchasedItem"
    return f"data.engagement.{key}" if event["data"]["engagement"].get(key) else None
