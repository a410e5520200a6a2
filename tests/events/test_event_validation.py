"""Validating a whole array: each element judged alone, results in input order."""

import copy
import gc
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.events import InvalidEventError, Validation, validate_event, validate_events
from funnel.publisher import generate_batch, invalidate
from tests.events.event_samples import KINDS, sample


def _publisher_array(n: int, seed: int = 3) -> list[dict[str, Any]]:
    return generate_batch(random.Random(seed), n)


def test_a_publisher_sized_array_reports_exactly_the_bad_indices() -> None:
    """50,000 events with bad ones scattered: exactly those are rejected, all others kept."""
    rng = random.Random(11)
    items: list[object] = list(_publisher_array(50_000))
    bad = sorted(rng.sample(range(50_000), 40))
    for index in bad:
        item = items[index]
        assert isinstance(item, dict)
        items[index] = invalidate(item, rng)
    items[bad[0]] = "not an event"
    validation = validate_events(items)
    assert [rejected.index for rejected in validation.rejected] == bad
    assert len(validation.valid) == 50_000 - len(bad)
    kept = [valid.index for valid in validation.valid]
    assert kept == sorted(set(range(50_000)) - set(bad))
    assert all(valid.raw is items[valid.index] for valid in validation.valid)
    assert all(rejected.raw is items[rejected.index] for rejected in validation.rejected)
    assert all(rejected.errors for rejected in validation.rejected)


def test_valid_events_carry_their_source_and_model() -> None:
    """Each valid element has its source, the raw dict unchanged and its model on demand."""
    raws = [sample(source, stage) for source, stage in KINDS]
    originals = copy.deepcopy(raws)
    validation = validate_events(raws)
    assert validation.rejected == []
    assert [valid.source for valid in validation.valid] == [s for s, _ in KINDS]
    for valid, original in zip(validation.valid, originals, strict=True):
        assert valid.raw == original
        assert valid.event == validate_event(original)
        assert valid.event.event_id == original["eventId"]


def test_models_can_be_built_in_the_same_pass() -> None:
    """With `models=True` each valid event's model is there at once, the same as alone."""
    items: list[object] = [sample(source, stage) for source, stage in KINDS]
    items.insert(2, {"eventId": "fb-1"})
    validation = validate_events(items, models=True)
    assert [valid.index for valid in validation.valid] == [0, 1, 3, 4]
    assert [rejected.index for rejected in validation.rejected] == [2]
    for valid in validation.valid:
        assert valid.event == validate_event(valid.raw)


def test_rejected_elements_name_their_event_id_when_they_have_one() -> None:
    """`event_id` is the element's string eventId, else None."""
    broken = sample("facebook", "top")
    broken["funnelStage"] = "invalid-stage"
    numeric_id = sample("tiktok", "top")
    numeric_id["eventId"] = 7
    validation = validate_events([broken, numeric_id, [broken], None])
    assert [r.event_id for r in validation.rejected] == [broken["eventId"], None, None, None]
    assert [r.errors[0].path for r in validation.rejected] == ["funnelStage", "eventId", "", ""]


def test_any_sequence_is_accepted_and_an_empty_one_is_fine() -> None:
    """A tuple validates like a list; an empty array has nothing valid or rejected."""
    assert validate_events(()) == Validation()
    assert len(validate_events(tuple(sample(s, t) for s, t in KINDS)).valid) == 4


def test_threads_may_validate_at_once() -> None:
    """Callers run validation in worker threads; overlapping calls each get a full verdict."""
    items: list[object] = list(_publisher_array(2_000))
    items[7] = None
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(validate_events, [items] * 8))
    assert all(len(result.valid) == 1_999 for result in results)
    assert all([r.index for r in result.rejected] == [7] for result in results)
    assert gc.isenabled(), "the collector runs again once no validation does"


# Values a mutation may put anywhere in an event: JSON scalars, and small arrays and objects.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**64) | st.floats(-1, 200) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=4,
)
_PATHS = [
    (),
    ("data",),
    ("data", "user"),
    ("data", "engagement"),
]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    where=st.sampled_from(_PATHS),
    key_choice=st.integers(0, 20),
    action=st.sampled_from(["set", "delete", "add"]),
    value=_JSON,
)
def test_the_array_verdict_always_agrees_with_the_model(
    kind: tuple[Any, Any], where: tuple[str, ...], key_choice: int, action: str, value: object
) -> None:
    """Whatever a mutation does, an element is valid in an array iff it is valid alone."""
    event = sample(*kind)
    target = event
    for key in where:
        target = target[key]
    keys = sorted(target)
    key = keys[key_choice % len(keys)]
    if action == "set":
        target[key] = value
    elif action == "delete":
        del target[key]
    else:
        target[f"x{key_choice}"] = value
    try:
        validate_event(event)
        alone = True
    except InvalidEventError:
        alone = False
    for models in (False, True):
        validation = validate_events([event], models=models)
        assert len(validation.valid) == int(alone)
        assert len(validation.rejected) == int(not alone)
