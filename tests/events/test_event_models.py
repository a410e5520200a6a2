"""The wire schemas: every valid shape passes, and every kind of wrong input names its field."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, get_args

import pytest

from funnel.events import (
    EVENT_ADAPTER,
    FacebookBottomEvent,
    FacebookBottomEventType,
    FacebookEngagementBottom,
    FacebookEngagementTop,
    FacebookEvent,
    FacebookTopEvent,
    FacebookTopEventType,
    FieldError,
    FunnelStage,
    InvalidEventError,
    Source,
    TiktokBottomEvent,
    TiktokBottomEventType,
    TiktokEngagementBottom,
    TiktokEngagementTop,
    TiktokEvent,
    TiktokTopEvent,
    TiktokTopEventType,
    validate_event,
)
from tests.events.event_samples import KINDS, sample

Mutation = Callable[[dict[str, Any]], object]

EVENT_TYPES: list[tuple[Source, FunnelStage, str]] = [
    *(("facebook", "top", t) for t in get_args(FacebookTopEventType)),
    *(("facebook", "bottom", t) for t in get_args(FacebookBottomEventType)),
    *(("tiktok", "top", t) for t in get_args(TiktokTopEventType)),
    *(("tiktok", "bottom", t) for t in get_args(TiktokBottomEventType)),
]
MODELS = {
    ("facebook", "top"): FacebookTopEvent,
    ("facebook", "bottom"): FacebookBottomEvent,
    ("tiktok", "top"): TiktokTopEvent,
    ("tiktok", "bottom"): TiktokBottomEvent,
}


def errors_of(raw: object) -> list[FieldError]:
    with pytest.raises(InvalidEventError) as caught:
        validate_event(raw)
    return caught.value.errors


def paths_of(raw: object) -> set[str]:
    return {error.path for error in errors_of(raw)}


def mutated(source: Source, stage: FunnelStage, mutation: Mutation) -> dict[str, Any]:
    event = sample(source, stage)
    mutation(event)
    return event


def user(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = event["data"]["user"]
    return result


def engagement(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = event["data"]["engagement"]
    return result


@pytest.mark.parametrize(("source", "stage", "event_type"), EVENT_TYPES)
def test_every_event_type_of_its_stage_is_valid(
    source: Source, stage: FunnelStage, event_type: str
) -> None:
    """Each of the brief's event types validates in its own source and funnel stage."""
    event = validate_event(sample(source, stage, event_type))
    assert isinstance(event, MODELS[source, stage])
    assert event.event_type == event_type


@pytest.mark.parametrize(("source", "stage"), KINDS)
def test_models_speak_snake_case_and_dump_the_wire_form(source: Source, stage: FunnelStage) -> None:
    """Python attributes are snake_case; dumping gives back exactly the camelCase input."""
    raw = sample(source, stage)
    event = validate_event(raw)
    assert event.funnel_stage == stage
    assert event.data.user.user_id == raw["data"]["user"]["userId"]
    assert EVENT_ADAPTER.dump_python(event, mode="json") == raw
    assert isinstance(event, FacebookEvent if source == "facebook" else TiktokEvent)


def test_timestamps_stay_strings_and_parse_to_aware_utc() -> None:
    """`timestamp` keeps the sent string; `occurred_at` is the instant in UTC."""
    raw = sample("facebook", "top")
    raw["timestamp"] = "2026-11-25T12:00:00.5+02:00"
    event = validate_event(raw)
    assert event.timestamp == "2026-11-25T12:00:00.5+02:00"
    assert event.occurred_at == datetime(2026, 11, 25, 10, 0, 0, 500000, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC
    assert isinstance(event.data.engagement, FacebookEngagementTop)
    assert event.data.engagement.action_at == datetime(2026, 11, 25, 9, 59, 58, 1000, tzinfo=UTC)


def test_purchase_amounts_are_exact_decimals() -> None:
    """`purchaseAmount` stays a string on the wire and reads as an exact Decimal."""
    facebook = validate_event(sample("facebook", "bottom"))
    tiktok = validate_event(sample("tiktok", "bottom"))
    assert isinstance(facebook.data.engagement, FacebookEngagementBottom)
    assert isinstance(tiktok.data.engagement, TiktokEngagementBottom)
    assert facebook.data.engagement.purchase == Decimal("129.99")
    assert tiktok.data.engagement.purchase == Decimal("59.90")


@pytest.mark.parametrize(
    ("source", "stage", "mutation"),
    [
        ("facebook", "top", lambda e: engagement(e).update(videoId=None)),
        ("facebook", "bottom", lambda e: engagement(e).update(purchaseAmount=None)),
        ("tiktok", "bottom", lambda e: engagement(e).update(profileId=None, purchasedItem=None)),
        ("tiktok", "bottom", lambda e: engagement(e).update(purchaseAmount=None)),
        ("tiktok", "top", lambda e: engagement(e).update(watchTime=0, percentageWatched=100)),
        ("tiktok", "top", lambda e: engagement(e).update(watchTime=12.75, percentageWatched=0)),
        ("tiktok", "top", lambda e: user(e).update(followers=0)),
        ("tiktok", "top", lambda e: user(e).update(followers=2**63 - 1)),
        ("facebook", "top", lambda e: user(e).update(age=2**15 - 1)),
        ("facebook", "top", lambda e: e.update(timestamp="0001-01-01T00:00:00Z")),
        ("tiktok", "top", lambda e: e.update(timestamp="9999-12-31T23:59:59.999Z")),
        ("facebook", "bottom", lambda e: e.update(eventId="fb-" + "x" * 253)),
        ("tiktok", "top", lambda e: engagement(e).update(country="Ü" * 256)),
        ("facebook", "top", lambda e: e.update(timestamp="2026-11-25T10:00:00Z")),
        ("facebook", "top", lambda e: e.update(timestamp="2026-11-25T10:00:00.123456-05:30")),
        ("facebook", "bottom", lambda e: engagement(e).update(purchaseAmount="12")),
        ("facebook", "bottom", lambda e: engagement(e).update(purchaseAmount="0.5")),
    ],
)
def test_edge_values_inside_the_rules_are_valid(
    source: Source, stage: FunnelStage, mutation: Mutation
) -> None:
    """Nulls where the brief allows them, range bounds, other offsets and amounts pass."""
    validate_event(mutated(source, stage, mutation))


@pytest.mark.parametrize(
    ("source", "stage", "mutation", "path"),
    [
        ("facebook", "top", lambda e: user(e).update(age="34"), "data.user.age"),
        ("facebook", "top", lambda e: user(e).update(age=34.5), "data.user.age"),
        ("facebook", "top", lambda e: user(e).update(age=True), "data.user.age"),
        ("facebook", "top", lambda e: user(e).update(name=None), "data.user.name"),
        ("facebook", "top", lambda e: user(e).update(location="Kyiv"), "data.user.location"),
        ("facebook", "top", lambda e: e.update(eventId=123), "eventId"),
        ("facebook", "top", lambda e: e.update(eventId=""), "eventId"),
        ("facebook", "top", lambda e: e.update(data=[]), "data"),
        (
            "facebook",
            "bottom",
            lambda e: engagement(e).update(device="tablet"),
            "data.engagement.device",
        ),
        (
            "facebook",
            "bottom",
            lambda e: engagement(e).update(browser="chrome"),
            "data.engagement.browser",
        ),
        ("tiktok", "top", lambda e: user(e).update(followers="15320"), "data.user.followers"),
        ("tiktok", "top", lambda e: user(e).update(followers=1.5), "data.user.followers"),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(watchTime="42"),
            "data.engagement.watchTime",
        ),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(device="android"),
            "data.engagement.device",
        ),
        ("tiktok", "top", lambda e: engagement(e).update(videoId=None), "data.engagement.videoId"),
        (
            "tiktok",
            "bottom",
            lambda e: engagement(e).update(profileId=7),
            "data.engagement.profileId",
        ),
    ],
)
def test_wrong_types_are_named_by_path(
    source: Source, stage: FunnelStage, mutation: Mutation, path: str
) -> None:
    """A value of the wrong type (no "34" for 34, no true for 1) fails at its own path."""
    assert paths_of(mutated(source, stage, mutation)) == {path}


@pytest.mark.parametrize(
    ("source", "stage", "mutation", "path"),
    [
        ("facebook", "top", lambda e: user(e).update(age=0), "data.user.age"),
        ("facebook", "top", lambda e: user(e).update(age=-5), "data.user.age"),
        # `age` is a smallint column: past it, the database would refuse the whole batch.
        ("facebook", "top", lambda e: user(e).update(age=2**15), "data.user.age"),
        ("tiktok", "top", lambda e: user(e).update(followers=-1), "data.user.followers"),
        ("tiktok", "top", lambda e: user(e).update(followers=2**63), "data.user.followers"),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(watchTime=-1),
            "data.engagement.watchTime",
        ),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(watchTime=-0.5),
            "data.engagement.watchTime",
        ),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(percentageWatched=100.01),
            "data.engagement.percentageWatched",
        ),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(percentageWatched=-1),
            "data.engagement.percentageWatched",
        ),
    ],
)
def test_numbers_out_of_range_are_rejected(
    source: Source, stage: FunnelStage, mutation: Mutation, path: str
) -> None:
    """Ages are positive and fit their column, followers and watch time not negative,
    percentages 0..100."""
    assert paths_of(mutated(source, stage, mutation)) == {path}


@pytest.mark.parametrize(
    ("source", "stage", "mutation", "path"),
    [
        ("facebook", "top", lambda e: e.update(eventId="fb-" + "x" * 254), "eventId"),
        ("tiktok", "top", lambda e: user(e).update(userId="u" * 257), "data.user.userId"),
        (
            "facebook",
            "bottom",
            lambda e: engagement(e).update(adId="a" * 257),
            "data.engagement.adId",
        ),
        (
            "facebook",
            "bottom",
            lambda e: engagement(e).update(campaignId="c" * 257),
            "data.engagement.campaignId",
        ),
        (
            "facebook",
            "top",
            lambda e: user(e)["location"].update(city="Ü" * 257),
            "data.user.location.city",
        ),
        (
            "facebook",
            "top",
            lambda e: user(e)["location"].update(country="C" * 257),
            "data.user.location.country",
        ),
        (
            "tiktok",
            "top",
            lambda e: engagement(e).update(country="C" * 257),
            "data.engagement.country",
        ),
    ],
)
def test_ids_and_places_past_256_characters_are_rejected(
    source: Source, stage: FunnelStage, mutation: Mutation, path: str
) -> None:
    """Ids and place names are index keys: past 256 characters they fail at their own path."""
    assert paths_of(mutated(source, stage, mutation)) == {path}


@pytest.mark.parametrize(("source", "stage"), KINDS)
@pytest.mark.parametrize(
    ("where", "path"),
    [
        ((), "promo"),
        (("data",), "data.promo"),
        (("data", "user"), "data.user.promo"),
        (("data", "engagement"), "data.engagement.promo"),
    ],
)
def test_unknown_fields_are_rejected_at_every_level(
    source: Source, stage: FunnelStage, where: tuple[str, ...], path: str
) -> None:
    """A field the brief does not define is an error, wherever it appears."""
    event = sample(source, stage)
    target = event
    for key in where:
        target = target[key]
    target["promo"] = "spring"
    errors = errors_of(event)
    assert [e.path for e in errors] == [path]
    assert "not permitted" in errors[0].message


def test_unknown_fields_are_rejected_in_a_location() -> None:
    """Even the innermost object, a Facebook user's location, takes no unknown field."""
    event = sample("facebook", "bottom")
    user(event)["location"]["zip"] = "01001"
    assert paths_of(event) == {"data.user.location.zip"}


def test_snake_case_names_are_not_accepted_on_the_wire() -> None:
    """The wire is camelCase only: `event_id` is an unknown field, `eventId` then missing."""
    event = sample("tiktok", "top")
    event["event_id"] = event.pop("eventId")
    assert paths_of(event) == {"event_id", "eventId"}


@pytest.mark.parametrize(
    ("source", "stage", "event_type"),
    [
        ("facebook", "top", "checkout.complete"),
        ("facebook", "bottom", "ad.view"),
        ("tiktok", "top", "purchase"),
        ("tiktok", "bottom", "share"),
        ("facebook", "top", "like"),
        ("tiktok", "bottom", "checkout.complete"),
        ("tiktok", "top", "ad.view"),
    ],
)
def test_event_type_must_belong_to_source_and_stage(
    source: Source, stage: FunnelStage, event_type: str
) -> None:
    """An event type of the other stage or the other source fails at `eventType`."""
    errors = errors_of(sample(source, stage, event_type))
    assert [e.path for e in errors] == ["eventType"]
    assert f"{source} {stage}-funnel event type" in errors[0].message
    assert repr(event_type) in errors[0].message


@pytest.mark.parametrize("source", ["facebook", "tiktok"])
def test_engagement_must_have_the_shape_of_its_stage(source: Source) -> None:
    """A bottom-funnel engagement under a top-funnel event fails field by field."""
    event = sample(source, "top")
    event["data"]["engagement"] = sample(source, "bottom")["data"]["engagement"]
    paths = paths_of(event)
    assert paths
    assert all(path.startswith("data.engagement.") for path in paths)


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ("twitter", "source", "Input should be 'facebook' or 'tiktok'; got 'twitter'"),
        (None, "source", "Input should be 'facebook' or 'tiktok'; got None"),
    ],
)
def test_an_unknown_source_is_named_plainly(value: object, path: str, message: str) -> None:
    """Union tags never leak: a bad `source` is an error at `source`, in plain words."""
    event = sample("facebook", "top")
    event["source"] = value
    assert errors_of(event) == [FieldError(path, message)]


def test_missing_discriminators_are_missing_fields() -> None:
    """Without `source` or `funnelStage` the error names the missing field."""
    no_source = sample("facebook", "top")
    del no_source["source"]
    no_stage = sample("tiktok", "bottom")
    del no_stage["funnelStage"]
    assert errors_of(no_source) == [FieldError("source", "Field required")]
    assert errors_of(no_stage) == [FieldError("funnelStage", "Field required")]


@pytest.mark.parametrize(
    "timestamp",
    [
        "invalid-timestamp",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-25T25:00:00Z",
        "2026-11-25T10:00:00",
        "2026-11-25",
        "",
        "1764064800",
        1764064800,
        None,
        # They parse, but name instants outside the years 1 to 9999 in UTC.
        "9999-12-31T23:30:00-01:00",
        "0001-01-01T00:30:00+01:00",
    ],
)
@pytest.mark.parametrize(("source", "stage"), KINDS)
def test_timestamps_must_be_iso_8601_with_an_offset(
    source: Source, stage: FunnelStage, timestamp: object
) -> None:
    """Not a date, an impossible date, no offset, a number, an instant no calendar year
    1-9999 holds: all fail at `timestamp`."""
    assert paths_of(mutated(source, stage, lambda e: e.update(timestamp=timestamp))) == {
        "timestamp"
    }


@pytest.mark.parametrize(("source", "stage"), [("facebook", "top"), ("tiktok", "bottom")])
def test_action_times_must_be_iso_8601_with_an_offset(source: Source, stage: FunnelStage) -> None:
    """`actionTime` follows the same rule as `timestamp`."""
    event = mutated(source, stage, lambda e: engagement(e).update(actionTime="yesterday"))
    assert paths_of(event) == {"data.engagement.actionTime"}


@pytest.mark.parametrize(
    "amount", ["12.345", "-1.00", "abc", "1e3", " 12.00", "", "12.", ".5", "1234567890123", 12.34]
)
@pytest.mark.parametrize("source", ["facebook", "tiktok"])
def test_purchase_amount_must_be_a_decimal_string(source: Source, amount: object) -> None:
    """`purchaseAmount` is a non-negative decimal string with at most 2 places, or null."""
    event = mutated(source, "bottom", lambda e: engagement(e).update(purchaseAmount=amount))
    assert paths_of(event) == {"data.engagement.purchaseAmount"}


@pytest.mark.parametrize("value", ["event", 42, None, [], ["a"], True])
def test_a_non_object_is_rejected_as_a_whole(value: object) -> None:
    """Something that is not a JSON object fails with the empty path."""
    errors = errors_of(value)
    assert [e.path for e in errors] == [""]
    assert errors[0].message.startswith("Input should be a JSON object")


def test_every_problem_of_an_event_is_reported() -> None:
    """Errors are not cut short: each wrong field of one event is listed."""
    event = sample("facebook", "bottom")
    user(event)["gender"] = "alien"
    user(event)["age"] = -1
    engagement(event)["clickPosition"] = "left"
    del event["eventId"]
    assert paths_of(event) == {
        "eventId",
        "data.user.gender",
        "data.user.age",
        "data.engagement.clickPosition",
    }


def test_invalid_event_error_says_what_is_wrong() -> None:
    """The exception's text names each path and reason, for logs."""
    event = sample("tiktok", "top")
    user(event)["followers"] = "not-a-number"
    with pytest.raises(InvalidEventError, match=r"data\.user\.followers: Input should be"):
        validate_event(event)


def test_tiktok_engagement_models_keep_their_fields() -> None:
    """The TikTok top engagement exposes its numbers as numbers."""
    event = validate_event(sample("tiktok", "top"))
    assert isinstance(event.data.engagement, TiktokEngagementTop)
    assert event.data.engagement.watch_time == 42
    assert event.data.engagement.percentage_watched == 87.5
