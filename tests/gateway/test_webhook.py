"""`POST /webhook` over real HTTP: what is answered and what JetStream holds afterwards."""

import copy
import random
from typing import Any

import httpx
import orjson
import pytest

from funnel.events import RULES_ID, Subjects
from funnel.gateway.batching import Batcher
from funnel.jetstream import EVENT_COUNT_HEADER, MSG_ID_HEADER, VALIDATED_HEADER
from funnel.publisher import CORRUPTIONS, corrupt
from tests.events.corruption_paths import expected_path
from tests.gateway.gateway_harness import (
    RunningGateway,
    batch_events,
    header,
    stored_events,
    stored_messages,
)


async def test_largest_publisher_request_is_stored_whole(
    client: httpx.AsyncClient,
    gateway: RunningGateway,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
    rng: random.Random,
) -> None:
    """50,000 events and one corrupt one at the end: 50,000 stored in batches, one dead letter."""
    body = [*events_50k, corrupt(events_50k[0], rng, "missing_user")]

    response = await client.post("/webhook", content=orjson.dumps(body))

    assert response.status_code == 202
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (50_000, 1)
    assert answer["errors"] == [
        {
            "index": 50_000,
            "eventId": events_50k[0]["eventId"],
            "errors": [{"path": "data.user", "message": "Field required"}],
        }
    ]
    messages = await stored_messages(nats_url, subjects.events_stream)
    settings = gateway.settings
    for message in messages:
        assert message.data is not None
        assert len(message.data) <= settings.batch_max_bytes
        assert len(batch_events(message)) <= settings.batch_max_events
        assert header(message, EVENT_COUNT_HEADER) == str(len(batch_events(message)))
        # Named, the rules spare a collector under the same ones validating the events again.
        assert header(message, VALIDATED_HEADER) == RULES_ID
    stored = stored_events(messages)
    assert len(stored) == 50_000
    assert {event["eventId"] for event in stored} == {event["eventId"] for event in events_50k}
    for source in ("facebook", "tiktok"):
        in_order = [e["eventId"] for e in events_50k if e["source"] == source]
        on_subject = [
            event["eventId"]
            for message in messages
            if message.subject == subjects.events(source)
            for event in batch_events(message)
        ]
        assert on_subject == in_order
    letters = await stored_messages(nats_url, subjects.dead_letter_stream)
    assert [letter.subject for letter in letters] == [subjects.dlq_gateway]
    [entry] = batch_events(letters[0])
    assert entry["index"] == 50_000
    assert entry["event"] == body[-1]


async def test_every_corruption_is_rejected_with_its_path(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
    rng: random.Random,
) -> None:
    """Each corruption, by each of upstream's two corrupt functions, between good events: the
    ones that changed their event are rejected and named by the path of their field, the
    others accepted and stored."""
    body: list[Any] = copy.deepcopy(events_50k[:20])
    expected: dict[int, str | None] = {}
    originals = iter(events_50k[100:])
    for kind in CORRUPTIONS:
        for corruptor in ("facebook", "tiktok"):
            original = next(originals)
            body.append(corrupt(original, rng, kind, corruptor))
            expected[len(body) - 1] = expected_path(kind, corruptor, original)
            body.append(copy.deepcopy(next(originals)))
    good = [event for index, event in enumerate(body) if expected.get(index) is None]

    answer = (await client.post("/webhook", content=orjson.dumps(body))).json()

    rejected = {index: path for index, path in expected.items() if path is not None}
    assert (answer["accepted"], answer["rejected"]) == (len(good), len(rejected))
    assert {entry["index"]: [e["path"] for e in entry["errors"]] for entry in answer["errors"]} == {
        index: [path] for index, path in rejected.items()
    }
    assert all(error["message"] for entry in answer["errors"] for error in entry["errors"])
    stored = stored_events(await stored_messages(nats_url, subjects.events_stream))
    assert sorted(event["eventId"] for event in stored) == sorted(e["eventId"] for e in good)


async def test_mixed_array_loses_no_good_event(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
    rng: random.Random,
) -> None:
    """Good and bad elements interleaved (non-objects too): every good event is stored."""
    body: list[Any] = []
    good: list[dict[str, Any]] = []
    for event in events_50k[:3_000]:
        # Upstream's corruptions, drawn as it draws them: one in ten changes nothing.
        sent = corrupt(event, rng) if rng.random() < 0.2 else event
        body.append(sent)
        if sent == event:
            good.append(sent)
    body[10:10] = [None, 42, "event", [], {}]

    answer = (await client.post("/webhook", content=orjson.dumps(body))).json()

    assert answer["accepted"] == len(good)
    assert answer["rejected"] == len(body) - len(good)
    assert len(answer["errors"]) == 100
    assert answer["errorsTruncated"] is True
    assert answer["errorsOmitted"] == answer["rejected"] - 100
    stored = stored_events(await stored_messages(nats_url, subjects.events_stream))
    assert [e["eventId"] for e in stored if e["source"] == "facebook"] == [
        e["eventId"] for e in good if e["source"] == "facebook"
    ]
    assert sorted(e["eventId"] for e in stored) == sorted(e["eventId"] for e in good)
    letters = await stored_messages(nats_url, subjects.dead_letter_stream)
    rejected_indexes = [entry["index"] for letter in letters for entry in batch_events(letter)]
    assert rejected_indexes == sorted(set(range(len(body))) - _indexes_of(body, good))


def _indexes_of(body: list[Any], good: list[dict[str, Any]]) -> set[int]:
    ids = {id(event) for event in good}
    return {index for index, element in enumerate(body) if id(element) in ids}


async def test_single_object_is_one_event(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """A body holding one event object (not an array) is taken as a one-event request."""
    event = events_50k[7]

    response = await client.post("/webhook", json=event)

    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    [message] = await stored_messages(nats_url, subjects.events_stream)
    assert message.subject == subjects.events(event["source"])
    assert batch_events(message) == [event]


async def test_empty_array_is_accepted_with_nothing_stored(
    client: httpx.AsyncClient, subjects: Subjects, nats_url: str
) -> None:
    """An empty array is a valid request with nothing to store."""
    response = await client.post("/webhook", content=b"[]")

    assert response.status_code == 202
    assert response.json() == {
        "accepted": 0,
        "rejected": 0,
        "correlationId": response.headers["x-correlation-id"],
        "errors": [],
    }
    assert await stored_messages(nats_url, subjects.events_stream) == []


async def test_retry_with_same_correlation_id_is_not_stored_twice(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """The same body re-sent under the same correlation id reuses message ids: no duplicates."""
    body = orjson.dumps(events_50k[:2_500])
    headers = {"X-Correlation-ID": "retry-1"}

    first = await client.post("/webhook", content=body, headers=headers)
    second = await client.post("/webhook", content=body, headers=headers)
    other = await client.post("/webhook", content=orjson.dumps(events_50k[:10]), headers=headers)

    assert [r.status_code for r in (first, second, other)] == [202, 202, 202]
    messages = await stored_messages(nats_url, subjects.events_stream)
    assert len(stored_events(messages)) == 2_500 + 10
    msg_ids = [header(message, MSG_ID_HEADER) for message in messages]
    assert len(set(msg_ids)) == len(msg_ids)


@pytest.mark.parametrize("max_bytes", [4096, 200_000])
def test_batches_stay_within_both_limits(max_bytes: int, events_50k: list[dict[str, Any]]) -> None:
    """Events added in pieces come out in batches within both limits, numbered in order."""
    events = [event for event in events_50k[:5_000] if event["source"] == "facebook"]
    batcher = Batcher(
        subjects=Subjects(),
        correlation_id="c",
        key="c:0",
        max_events=1_000,
        max_bytes=max_bytes,
    )

    messages = []
    for start in range(0, len(events), 700):
        messages.extend(batcher.add("facebook", events[start : start + 700]))
    messages.extend(batcher.flush())

    assert all(len(message.payload) <= max_bytes for message in messages)
    assert all(len(orjson.loads(message.payload)) <= 1_000 for message in messages)
    assert [e for m in messages for e in orjson.loads(m.payload)] == events
    assert [m.msg_id for m in messages] == [f"c:0:facebook:{n}" for n in range(len(messages))]
    assert {m.subject for m in messages} == {"events.facebook"}


async def test_an_event_too_large_for_any_message_is_rejected_alone(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """A valid event whose JSON alone is over the batch limit (1 MB) fits no message: it is
    rejected at its index, its dead letter keeps only what names it, and the rest is stored."""
    body = [copy.deepcopy(event) for event in events_50k[:101]]
    huge = body[50]
    huge["data"]["user"]["name" if huge["source"] == "facebook" else "username"] = "n" * 3_000_000

    answer = await client.post("/webhook", content=orjson.dumps(body))

    assert answer.status_code == 202
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (100, 1)
    [error] = answer.json()["errors"]
    assert (error["index"], error["eventId"]) == (50, huge["eventId"])
    assert error["errors"][0]["message"].startswith("Event should be at most 1,000,000 bytes")
    stored = stored_events(await stored_messages(nats_url, subjects.events_stream))
    assert sorted(e["eventId"] for e in stored) == sorted(
        e["eventId"] for i, e in enumerate(body) if i != 50
    )
    [letter] = await stored_messages(nats_url, subjects.dead_letter_stream)
    [entry] = batch_events(letter)
    assert entry["index"] == 50
    named = ("eventId", "source", "funnelStage", "eventType", "timestamp")
    assert {key: entry["event"][key] for key in named} == {key: huge[key] for key in named}
    assert entry["event"]["notKept"].startswith("not kept: 3,000,")


async def test_a_rejected_event_too_large_for_a_dead_letter_costs_its_request_nothing(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """An invalid element of 3 MB (an unknown field) is rejected and dead-lettered by what
    names it; the request is answered 202 and its good events are stored."""
    body = [copy.deepcopy(event) for event in events_50k[:101]]
    body[50]["promo"] = "x" * 3_000_000

    answer = await client.post("/webhook", content=orjson.dumps(body))

    assert answer.status_code == 202, answer.text
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (100, 1)
    stored = stored_events(await stored_messages(nats_url, subjects.events_stream))
    assert len(stored) == 100
    [letter] = await stored_messages(nats_url, subjects.dead_letter_stream)
    [entry] = batch_events(letter)
    assert (entry["index"], entry["eventId"]) == (50, body[50]["eventId"])
    assert entry["event"]["notKept"].startswith("not kept: 3,000,")
