"""Validation errors in the words of the wire, translated from pydantic's in this one place.

A path is the dotted camelCase path a publisher's developer sees in their own JSON
(`data.user.gender`, `funnelStage`); `""` is the event itself. Pydantic's union tags
(`facebook`, `top`) never appear in a path: they become context in the message instead.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pydantic_core import ErrorDetails

from funnel.events.source import SOURCES

_STAGES: Final = ("top", "bottom")
_MAX_INPUT_CHARS: Final = 40


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason an event is invalid: where (`path`) and why (`message`)."""

    path: str
    message: str


class InvalidEventError(ValueError):
    """An event failed validation; `errors` says every field that is wrong and why."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{error.path or '<event>'}: {error.message}" for error in self.errors)
        super().__init__(f"invalid event: {summary}")


def _split_tags(loc: tuple[int | str, ...]) -> tuple[tuple[str, ...], tuple[int | str, ...]]:
    """Separate the union tags (source, then stage) from the wire path that follows them."""
    tags: list[str] = []
    if loc and loc[0] in SOURCES:
        tags.append(str(loc[0]))
        if len(loc) > 1 and loc[1] in _STAGES:
            tags.append(str(loc[1]))
    return tuple(tags), loc[len(tags) :]


def _shown(value: object) -> str:
    try:
        text = repr(value)
    except RecursionError:
        # JSON may nest ~1,000 levels deep, as deep as repr can follow: say so instead.
        return f"a {type(value).__name__} nested too deep to show"
    return text if len(text) <= _MAX_INPUT_CHARS else text[: _MAX_INPUT_CHARS - 3] + "..."


def _discriminator(ctx: dict[str, object]) -> str:
    # pydantic names it "'funnel_stage' | 'funnelStage'" (field name | alias): keep the alias.
    return str(ctx.get("discriminator", "")).split("|")[-1].strip().strip("'")


def _one_of(expected_tags: object) -> str:
    tags = [f"'{tag.strip().strip(chr(39))}'" for tag in str(expected_tags).split(",")]
    return tags[0] if len(tags) == 1 else f"{', '.join(tags[:-1])} or {tags[-1]}"


def _translate(error: ErrorDetails, skip: int) -> FieldError:
    tags, loc = _split_tags(error["loc"][skip:])
    path = ".".join(str(part) for part in loc)
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "union_tag_invalid":
        # The discriminator's value is not one of its tags: the error belongs to that field.
        field = _discriminator(ctx)
        expected = _one_of(ctx.get("expected_tags", ""))
        value = error["input"].get(field) if isinstance(error["input"], dict) else ctx.get("tag")
        return FieldError(
            f"{path}.{field}" if path else field, f"Input should be {expected}; got {_shown(value)}"
        )
    if kind == "union_tag_not_found":
        field = _discriminator(ctx)
        return FieldError(f"{path}.{field}" if path else field, "Field required")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return FieldError(path, f"Input should be a JSON object; got {_shown(error['input'])}")
    if kind == "literal_error" and path == "eventType" and len(tags) == 2:
        source, stage = tags
        return FieldError(
            path,
            f"Input should be a {source} {stage}-funnel event type: {ctx.get('expected', '')}; "
            f"got {_shown(error['input'])}",
        )
    return FieldError(path, error["msg"])


def field_errors(errors: Sequence[ErrorDetails], *, skip: int = 0) -> list[FieldError]:
    """Translate pydantic's error details of one event; `skip` drops leading path parts
    (the list index when the event was validated inside an array)."""
    translated: list[FieldError] = []
    for error in errors:
        field_error = _translate(error, skip)
        if field_error not in translated:
            translated.append(field_error)
    return translated
