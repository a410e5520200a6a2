"""Each of the upstream publisher's eight corruptions is rejected, on both sources, at its path."""

import random

import pytest

from funnel.events import FunnelStage, Source, validate_events
from funnel.publisher import CORRUPTIONS, corrupt
from tests.events.event_samples import KINDS, sample

# Where each corruption may be reported; the ones with alternatives pick one at random.
EXPECTED_PATHS: dict[str, dict[Source, set[str]]] = {
    "invalid_timestamp": {"facebook": {"timestamp"}, "tiktok": {"timestamp"}},
    "missing_event_id": {"facebook": {"eventId"}, "tiktok": {"eventId"}},
    "missing_user_name": {"facebook": {"data.user.name"}, "tiktok": {"data.user.username"}},
    "missing_user": {"facebook": {"data.user"}, "tiktok": {"data.user"}},
    "invalid_stage": {"facebook": {"funnelStage"}, "tiktok": {"funnelStage"}},
    "event_type_array": {"facebook": {"eventType"}, "tiktok": {"eventType"}},
    "broken_engagement": {
        source: {
            "data.engagement.actionTime",
            "data.engagement.watchTime",
            "data.engagement.adId",
            "data.engagement.purchasedItem",
        }
        for source in ("facebook", "tiktok")
    },
    "broken_user_field": {
        source: {"data.user.gender", "data.user.followers"} for source in ("facebook", "tiktok")
    },
}
SEEDS = range(12)


def test_the_eight_corruptions_are_all_known() -> None:
    """`CORRUPTIONS` holds the contract's eight, by name."""
    assert list(CORRUPTIONS) == list(EXPECTED_PATHS)


@pytest.mark.parametrize("kind", list(EXPECTED_PATHS))
@pytest.mark.parametrize(("source", "stage"), KINDS)
def test_each_corruption_is_rejected_at_its_path(
    kind: str, source: Source, stage: FunnelStage
) -> None:
    """Whatever alternative a corruption picks, the event is rejected where it was broken."""
    for seed in SEEDS:
        event = corrupt(sample(source, stage), random.Random(seed), kind)
        validation = validate_events([event])
        assert validation.valid == []
        (rejected,) = validation.rejected
        paths = {error.path for error in rejected.errors}
        assert paths, (kind, seed)
        assert paths <= EXPECTED_PATHS[kind][source], (kind, seed, rejected.errors)


def test_corrupt_leaves_its_input_alone() -> None:
    """`corrupt` works on a copy: the valid event given to it stays valid."""
    event = sample("tiktok", "top")
    corrupt(event, random.Random(1), "missing_user")
    assert event == sample("tiktok", "top")


def test_source_blind_corruptions_add_foreign_fields() -> None:
    """Like upstream, `gender` lands on TikTok users too, as a field they do not have."""
    messages: set[str] = set()
    for seed in SEEDS:
        event = corrupt(sample("tiktok", "bottom"), random.Random(seed), "broken_user_field")
        (rejected,) = validate_events([event]).rejected
        messages.update(error.message for error in rejected.errors)
    assert "Extra inputs are not permitted" in messages


def test_a_random_corruption_is_drawn_from_the_eight() -> None:
    """Without a kind, one of the eight is drawn at random, and each result is invalid."""
    rng = random.Random(5)
    events = [corrupt(sample(*KINDS[i % 4]), rng) for i in range(400)]
    assert len(validate_events(events).rejected) == 400
