"""Validating a publisher's whole array: every element judged on its own.

One bad element never costs the good ones: `validate_events` returns the valid events and the
rejected ones (with their field errors), both in input order. It is synchronous and
CPU-bound (50,000 events in well under half a second); callers on an event loop run it in a
thread or in chunks.

Speed comes from two choices, measured in `bench/validation.py`:
- each element is judged against a *verdict* schema derived from the `Event` models: the
  same rules, in pydantic-core, but yielding plain dicts, which cost half as much as model
  instances; the model of a valid event is built when `ValidEvent.event` is first read (a
  gateway never reads it), or instead of the verdict with `models=True` (a collector does);
- one element at a time, with the cyclic garbage collector paused: a publisher's array is
  hundreds of thousands of acyclic containers, and the collections that the verdicts and
  models would trigger, each walking all of them, cost more than the validation itself.
  Only an invalid element is validated again, against the models, so its errors read
  exactly as `validate_event`'s.
"""

import gc
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from pydantic import ValidationError
from pydantic_core import CoreSchema, SchemaValidator, core_schema

from funnel.events.errors import FieldError, field_errors
from funnel.events.event import EVENT_ADAPTER, Event
from funnel.events.source import Source


@dataclass(slots=True)
class ValidEvent:
    """An element that passed: its position, its source, and the JSON object as it came."""

    index: int
    source: Source
    raw: dict[str, Any]
    _event: Event | None = field(default=None, repr=False, compare=False)

    @property
    def event(self) -> Event:
        """The validated model, built on first use (the element is known to be valid)."""
        if self._event is None:
            self._event = EVENT_ADAPTER.validate_python(self.raw)
        return self._event


@dataclass(frozen=True, slots=True)
class Rejected:
    """An element that failed, with every reason; `raw` is the element as it came."""

    index: int
    raw: object
    errors: list[FieldError]

    @property
    def event_id(self) -> str | None:
        """The element's `eventId` when it had a string one, to name it in answers and logs."""
        event_id = self.raw.get("eventId") if isinstance(self.raw, dict) else None
        return event_id if isinstance(event_id, str) else None


@dataclass(slots=True)
class Validation:
    """The verdict on an array: `valid` and `rejected`, each in input order."""

    valid: list[ValidEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _as_typed_dicts(schema: Any) -> Any:
    """The same core schema with every model replaced by a typed dict of the same fields."""
    if isinstance(schema, list):
        return [_as_typed_dicts(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") != "model":
        return {key: _as_typed_dicts(value) for key, value in schema.items()}
    model_fields = schema["schema"]
    assert model_fields["type"] == "model-fields", "event models have plain fields only"
    fields = {
        name: core_schema.typed_dict_field(
            _as_typed_dicts(spec["schema"]),
            required=True,
            validation_alias=spec["validation_alias"],
        )
        for name, spec in model_fields["fields"].items()
    }
    return core_schema.typed_dict_schema(
        fields, extra_behavior="forbid", config=schema.get("config"), ref=schema.get("ref")
    )


_VERDICT: Final = SchemaValidator(cast(CoreSchema, _as_typed_dicts(EVENT_ADAPTER.core_schema)))


class _CollectorPause:
    """Pauses the cyclic garbage collector while any validation runs; threads may overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *_exc_info: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._resume:
                gc.enable()


_COLLECTOR_PAUSE: Final = _CollectorPause()


def _reject(index: int, raw: object) -> Rejected:
    try:
        EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        return Rejected(index, raw, field_errors(exc.errors(include_url=False)))
    # Only reachable if the verdict schema and the models disagreed; never lose the element.
    return Rejected(index, raw, [FieldError("", "Input did not validate as an event")])


def trust_events(items: Sequence[object]) -> Validation:
    """Every element of a parsed JSON array taken as a valid event, unchecked: for events
    validated already under the same rules (`funnel.events.rules`). Raises `TypeError` or
    `KeyError` for an element that is not even an object with a `source`."""
    outcome = Validation()
    for index, raw in enumerate(items):
        raw_event = cast(dict[str, Any], raw)
        outcome.valid.append(ValidEvent(index, raw_event["source"], raw_event))
    return outcome


def validate_events(items: Sequence[object], *, models: bool = False) -> Validation:
    """Validate each element of a parsed JSON array as an `Event`, independently.

    With `models`, every valid event's model is built now (a collector reads them all);
    without, each is built when `ValidEvent.event` is first read (a gateway never does).
    """
    outcome = Validation()
    valid, rejected = outcome.valid, outcome.rejected
    check = EVENT_ADAPTER.validate_python if models else _VERDICT.validate_python
    with _COLLECTOR_PAUSE:
        for index, raw in enumerate(items):
            try:
                result = check(raw)
            except ValidationError:
                rejected.append(_reject(index, raw))
                continue
            raw_event = cast(dict[str, Any], raw)
            event = result if models else None
            valid.append(ValidEvent(index, raw_event["source"], raw_event, event))
    return outcome
