"""Each of the upstream publisher's corruptions, by either of its two corrupt functions, on
each kind of event: rejected at its path, or, where it changes nothing, accepted."""

import random
from typing import get_args

import pytest

from funnel.events import (
    FunnelStage,
    Source,
    TiktokBottomEventType,
    validate_events,
)
from funnel.publisher import CORRUPTIONS, corrupt, generate_event, invalidate
from tests.events.corruption_paths import expected_path
from tests.events.event_samples import KINDS, sample

KINDS_OF_CORRUPTION = (
    "invalid_timestamp",
    "missing_event_id",
    "missing_user_name",
    "missing_user",
    "invalid_stage",
    "event_type_array",
    "broken_engagement",
    "broken_user_field",
)
CORRUPTORS: tuple[Source, ...] = ("facebook", "tiktok")


def test_the_eight_corruptions_are_all_known() -> None:
    """`CORRUPTIONS` holds upstream's eight, in its order."""
    assert list(CORRUPTIONS) == list(KINDS_OF_CORRUPTION)


@pytest.mark.parametrize("kind", KINDS_OF_CORRUPTION)
@pytest.mark.parametrize("corruptor", CORRUPTORS)
@pytest.mark.parametrize(("source", "stage"), KINDS)
def test_each_corruption_is_rejected_at_its_path_or_changes_nothing(
    kind: str, corruptor: Source, source: Source, stage: FunnelStage
) -> None:
    """A corruption that changed the event is rejected exactly where; one that did not is
    accepted."""
    event = sample(source, stage)
    corrupted = corrupt(event, random.Random(1), kind, corruptor)
    validation = validate_events([corrupted])
    path = expected_path(kind, corruptor, event)
    if path is None:
        assert corrupted == event
        assert len(validation.valid) == 1
        return
    assert corrupted != event
    (rejected,) = validation.rejected
    assert {error.path for error in rejected.errors} == {path}


@pytest.mark.parametrize("event_type", get_args(TiktokBottomEventType))
def test_tiktok_bottom_funnel_loses_purchased_item_only_on_a_purchase(event_type: str) -> None:
    """TikTok's engagement corruption deletes `purchasedItem` only where it is not null."""
    event = sample("tiktok", "bottom", event_type)
    if event_type != "purchase":
        event["data"]["engagement"] |= {"purchasedItem": None, "purchaseAmount": None}
    corrupted = corrupt(event, random.Random(1), "broken_engagement", "tiktok")
    assert ("purchasedItem" in corrupted["data"]["engagement"]) == (event_type != "purchase")


def test_corrupt_leaves_its_input_alone() -> None:
    """`corrupt` works on a copy: the valid event given to it stays valid."""
    event = sample("tiktok", "top")
    corrupt(event, random.Random(1), "missing_user")
    assert event == sample("tiktok", "top")


def test_source_blind_corruptions_add_foreign_fields() -> None:
    """Like upstream, Facebook's corrupt function sets `gender` on TikTok users too."""
    corrupted = corrupt(
        sample("tiktok", "bottom"), random.Random(1), "broken_user_field", "facebook"
    )
    assert corrupted["data"]["user"]["gender"] == "alien"
    (rejected,) = validate_events([corrupted]).rejected
    assert [error.message for error in rejected.errors] == ["Extra inputs are not permitted"]


def test_drawn_corruptions_leave_about_one_in_ten_events_valid() -> None:
    """Drawn as upstream draws them, 5 in 48 corrupted events are unchanged and accepted."""
    rng = random.Random(5)
    originals = [generate_event(rng) for _ in range(9600)]
    corrupted = [corrupt(event, rng) for event in originals]
    unchanged = [c == o for c, o in zip(corrupted, originals, strict=True)]
    validation = validate_events(corrupted)
    assert sorted(valid.index for valid in validation.valid) == [
        index for index, same in enumerate(unchanged) if same
    ]
    # 5/48 = 10.4%; the binomial's standard deviation on 9,600 draws is 0.3 points.
    assert 0.094 < sum(unchanged) / len(unchanged) < 0.114


def test_invalidate_always_changes_the_event() -> None:
    """`invalidate` draws again until the event changed, so every result is rejected."""
    rng = random.Random(6)
    events = [invalidate(generate_event(rng), rng) for _ in range(400)]
    assert len(validate_events(events).rejected) == 400
