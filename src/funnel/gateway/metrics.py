"""The gateway's Prometheus metrics (contract section 7), on the app's own registry.

Event counters count events, not requests: `accepted` the valid events received,
`processed` those JetStream acknowledged, `failed` the ones refused or lost, by `reason`
(`validation`, `publish`, `stream_full`, `overloaded`, `too_large`, `bad_json`,
`shutting_down`, `client_disconnected`). When a request is refused before its events can be
counted or attributed (its body unread, as while the stream is full), it counts as one
event of source `unknown`, so a dashboard still sees it; `requests_refused` counts every
refused request by the same reasons, whatever its events.
"""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

UNKNOWN_SOURCE: Final = "unknown"

# From a one-event request to a 50,000-event one waiting on fsync'd acks.
_DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    10.0,
    30.0,
)


class GatewayMetrics:
    """Every gateway metric, registered on `registry` when built."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events_accepted = Counter(
            "funnel_gateway_events_accepted_total",
            "Valid events received in webhooks.",
            ["source"],
            registry=registry,
        )
        self.events_processed = Counter(
            "funnel_gateway_events_processed_total",
            "Events durably stored in JetStream (acknowledged).",
            ["source"],
            registry=registry,
        )
        self.events_failed = Counter(
            "funnel_gateway_events_failed_total",
            "Events rejected or not stored, by reason.",
            ["source", "reason"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "funnel_gateway_request_duration_seconds",
            "Time from a webhook's arrival to its answer, body upload included.",
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "funnel_gateway_requests_total",
            "Webhook requests answered, by status code.",
            ["status"],
            registry=registry,
        )
        self.requests_in_flight = Gauge(
            "funnel_gateway_requests_in_flight",
            "Webhook requests being read, validated or published right now.",
            registry=registry,
        )
        self.requests_refused = Counter(
            "funnel_gateway_requests_refused_total",
            "Webhook requests answered with an error, by the reason of events_failed_total.",
            ["reason"],
            registry=registry,
        )
        self.in_flight_bytes = Gauge(
            "funnel_gateway_in_flight_bytes",
            "Bytes of webhook bodies held right now (reading, validating or publishing them), "
            "bounded by MAX_IN_FLIGHT_BYTES.",
            registry=registry,
        )
        self.stream_full = Gauge(
            "funnel_gateway_stream_full",
            "1 while the last look found EVENTS without room for a batch (webhooks are refused "
            "unread), else 0.",
            registry=registry,
        )
        self.batches_published = Counter(
            "funnel_gateway_batches_published_total",
            "JetStream messages acknowledged, by subject kind (events or dead letters).",
            ["kind"],
            registry=registry,
        )
