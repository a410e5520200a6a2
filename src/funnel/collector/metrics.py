"""The collector's Prometheus metrics (contract section 7), on the app's own registry.

Counters count events, not messages: `accepted` the events received from JetStream (every
delivery, so a redelivered event counts again), `processed` those committed to PostgreSQL,
`failed` those dead-lettered, by `reason`:

    invalid       failed validation (or belongs to the other source)
    unstorable    valid, but PostgreSQL cannot hold it (a NUL character) or refused it
    undecodable   the whole message is not a JSON array
    undeliverable the message failed `max_deliver` times

Histograms time each fetched batch and the lag from an event's timestamp to its commit;
gauges show the durable consumer's backlog and what the streams hold, refreshed every few
seconds (`funnel.collector.jetstream_status`). A stream gauge's `stream` label is the contract's
name (`EVENTS`, `DEAD_LETTERS`), without a deployment's namespace, so dashboards read the same
everywhere; every collector reports the same stream figures, so dashboards take their `max`.
"""

from collections.abc import Mapping, Sequence
from typing import Final, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from funnel.db import Dropped, Footprint, RetentionPolicy, SeenUsers
from funnel.jetstream import ConsumerStatus, Delivery, StreamStatus

FailureReason = Literal["invalid", "unstorable", "undecodable", "undeliverable"]

# The reasons this collector writes in front of a whole message it gives up on; the consumer
# loop reports them back through `on_dead_letter`, where anything else is `undeliverable`.
MESSAGE_REASONS: Final[tuple[FailureReason, ...]] = ("undecodable",)

_BATCH_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LAG_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class CollectorMetrics:
    """Every collector metric for one source; also the consumer loop's observer."""

    def __init__(self, registry: CollectorRegistry, source: str) -> None:
        self.registry = registry
        self.source = source
        self._accepted = Counter(
            "funnel_collector_events_accepted_total",
            "Events received from JetStream (redeliveries included).",
            ["source"],
            registry=registry,
        ).labels(source)
        self._processed = Counter(
            "funnel_collector_events_processed_total",
            "Events committed to PostgreSQL.",
            ["source"],
            registry=registry,
        ).labels(source)
        self._duplicates = Counter(
            "funnel_collector_events_duplicate_total",
            "Committed events that were already stored (redeliveries, replays).",
            ["source"],
            registry=registry,
        ).labels(source)
        self._failed = Counter(
            "funnel_collector_events_failed_total",
            "Events dead-lettered, by reason.",
            ["source", "reason"],
            registry=registry,
        )
        self._retried = Counter(
            "funnel_collector_batches_retried_total",
            "Fetched batches given back for a later retry (database unavailable, ...).",
            ["source"],
            registry=registry,
        ).labels(source)
        self._database_waits = Counter(
            "funnel_collector_database_retries_total",
            "Attempts to commit a batch that found the database unavailable (the batch waits).",
            ["source"],
            registry=registry,
        ).labels(source)
        self.batch_duration = Histogram(
            "funnel_collector_batch_duration_seconds",
            "Time to decode, validate, store and commit one fetched batch.",
            ["source"],
            buckets=_BATCH_BUCKETS,
            registry=registry,
        ).labels(source)
        self.ingest_lag = Histogram(
            "funnel_collector_ingest_lag_seconds",
            "From an event's own timestamp to the commit of its row; one sample per message.",
            ["source"],
            buckets=_LAG_BUCKETS,
            registry=registry,
        ).labels(source)
        self._pending = Gauge(
            "funnel_collector_consumer_pending_messages",
            "Messages in the stream not yet delivered to this collector's durable consumer.",
            ["source"],
            registry=registry,
        ).labels(source)
        self._ack_pending = Gauge(
            "funnel_collector_consumer_ack_pending_messages",
            "Messages delivered to the durable consumer and not yet acknowledged.",
            ["source"],
            registry=registry,
        ).labels(source)
        self._redelivered = Gauge(
            "funnel_collector_consumer_redelivered_messages",
            "Messages of the durable consumer delivered more than once and still pending.",
            ["source"],
            registry=registry,
        ).labels(source)
        self._stream_messages = Gauge(
            "funnel_collector_stream_messages",
            "Messages kept in the stream (EVENTS: batches; DEAD_LETTERS: dead letters).",
            ["stream"],
            registry=registry,
        )
        self._stream_bytes = Gauge(
            "funnel_collector_stream_bytes",
            "Bytes kept in the stream.",
            ["stream"],
            registry=registry,
        )
        self._dead_letters = Gauge(
            "funnel_collector_dead_letter_messages",
            "Dead letters waiting in DEAD_LETTERS, by origin (gateway or a collector).",
            ["origin"],
            registry=registry,
        )
        self._storage_bytes = Gauge(
            "funnel_storage_bytes",
            "Bytes on disk per store: raw (event partitions), summaries, stream (EVENTS), "
            "dead_letters.",
            ["store"],
            registry=registry,
        )
        self._raw_partitions = Gauge(
            "funnel_retention_partitions",
            "Partitions of raw events kept.",
            registry=registry,
        )
        self._retained_events = Gauge(
            "funnel_retention_retained_events",
            "Raw events kept.",
            registry=registry,
        )
        self._oldest_event = Gauge(
            "funnel_retention_oldest_event_seconds",
            "Timestamp (Unix time) of the oldest raw event kept; 0 when none is.",
            registry=registry,
        )
        self._dropped_events = Counter(
            "funnel_retention_dropped_events",
            "Raw events dropped by retention since the database was made (summaries still "
            "count them).",
            registry=registry,
        )
        self._drop_exclusive = Histogram(
            "funnel_retention_drop_exclusive_seconds",
            "How long each partition drop this replica made had `events` to itself: every "
            "writer waits that long.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
            registry=registry,
        )
        self._retention_time = Gauge(
            "funnel_retention_time_seconds",
            "EVENTS_RETENTION_TIME in force.",
            registry=registry,
        )
        self._retention_size = Gauge(
            "funnel_retention_size_bytes",
            "EVENTS_RETENTION_SIZE in force; 0 when raw events are bounded by time only.",
            registry=registry,
        )
        self._user_filter_bytes = Gauge(
            "funnel_collector_user_filter_bytes",
            "Memory held by this collector's filters of the users in recent partitions.",
            ["source"],
            registry=registry,
        ).labels(source)
        self._repeat_probe = Counter(
            "funnel_collector_repeat_probe_events_total",
            "New events by what the repeat-user probe did with their user: asked (a filter "
            "might hold it, or it is on two new events), skipped (neither), unfiltered "
            "(asked: a filter was incomplete or full).",
            ["source", "outcome"],
            registry=registry,
        )
        self._probe_seen: dict[str, int] = {}
        self._dropped_seen = 0
        for reason in get_args(FailureReason):
            self._failed.labels(source, reason)

    def accepted(self, events: int) -> None:
        self._accepted.inc(events)

    def processed(self, events: int, inserted: int) -> None:
        self._processed.inc(events)
        self._duplicates.inc(events - inserted)

    def failed(self, reason: FailureReason, events: int) -> None:
        self._failed.labels(self.source, reason).inc(events)

    def database_unavailable(self) -> None:
        self._database_waits.inc()

    def consumer_status(self, status: ConsumerStatus) -> None:
        self._pending.set(status.num_pending)
        self._ack_pending.set(status.num_ack_pending)
        self._redelivered.set(status.num_redelivered)

    def stream_status(self, stream: str, status: StreamStatus) -> None:
        """Record what `stream` (the contract's name of `status.stream`) holds."""
        self._stream_messages.labels(stream).set(status.messages)
        self._stream_bytes.labels(stream).set(status.bytes)
        store = "stream" if stream == "EVENTS" else "dead_letters"
        self._storage_bytes.labels(store).set(status.bytes)

    def retention_policy(self, policy: RetentionPolicy) -> None:
        self._retention_time.set(policy.time.total_seconds())
        self._retention_size.set(policy.size or 0)

    def partitions_dropped(self, dropped: Sequence[Dropped]) -> None:
        for partition in dropped:
            self._drop_exclusive.observe(partition.exclusive_seconds)

    def footprint(self, held: Footprint) -> None:
        """Record what PostgreSQL holds; the dropped count is the database's own total."""
        self._storage_bytes.labels("raw").set(held.raw_bytes)
        self._storage_bytes.labels("summaries").set(held.summary_bytes)
        self._raw_partitions.set(held.partitions)
        self._retained_events.set(held.retained_events)
        self._oldest_event.set(held.oldest_event.timestamp() if held.oldest_event else 0)
        # A counter that follows the database's total (every replica reports the same).
        if held.dropped_events > self._dropped_seen:
            self._dropped_events.inc(held.dropped_events - self._dropped_seen)
            self._dropped_seen = held.dropped_events

    def seen_users(self, seen: SeenUsers) -> None:
        """Follow the writer's filters: their memory, and its running counts."""
        self._user_filter_bytes.set(seen.nbytes)
        for outcome, total in (
            ("asked", seen.asked),
            ("skipped", seen.skipped),
            ("unfiltered", seen.unfiltered),
        ):
            self._repeat_probe.labels(self.source, outcome).inc(
                total - self._probe_seen.get(outcome, 0)
            )
            self._probe_seen[outcome] = total

    def dead_letters(self, by_origin: Mapping[str, int]) -> None:
        """Replace the per-origin dead-letter counts: an origin emptied by a replay is gone."""
        # No await between clearing and setting, so a scrape never sees the gap.
        self._dead_letters.clear()
        for origin, count in by_origin.items():
            self._dead_letters.labels(origin).set(count)

    # --- ConsumerObserver ------------------------------------------------------------------

    def on_fetched(self, deliveries: Sequence[Delivery]) -> None:
        pass

    def on_acked(self, deliveries: Sequence[Delivery]) -> None:
        pass

    def on_nak(self, deliveries: Sequence[Delivery], error: str) -> None:
        self._retried.inc()

    def on_dead_letter(self, delivery: Delivery, error: str) -> None:
        prefix = error.split(":", 1)[0]
        reason: FailureReason = next(
            (known for known in MESSAGE_REASONS if known == prefix), "undeliverable"
        )
        self.failed(reason, delivery.event_count or 1)
