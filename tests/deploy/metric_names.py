"""The metric names deploy files may query: contract section 7, Funnel's own view of NATS,
and Prometheus's `up`. The NATS exporter's series are not among them: every query must
return data where only Funnel runs."""

import re
from typing import Final

# Contract section 7 and the gauges beside it: the collectors' view of JetStream and each
# service's NATS connection (histograms by their base name).
FUNNEL_METRICS: Final = frozenset(
    {
        "funnel_gateway_events_accepted_total",
        "funnel_gateway_events_processed_total",
        "funnel_gateway_events_failed_total",
        "funnel_gateway_request_duration_seconds",
        # What the gateway holds and refuses before reading a body.
        "funnel_gateway_in_flight_bytes",
        "funnel_gateway_requests_refused_total",
        "funnel_gateway_stream_full",
        "funnel_collector_events_accepted_total",
        "funnel_collector_events_processed_total",
        "funnel_collector_events_failed_total",
        "funnel_collector_batch_duration_seconds",
        "funnel_collector_consumer_pending_messages",
        "funnel_collector_consumer_ack_pending_messages",
        "funnel_collector_consumer_redelivered_messages",
        "funnel_collector_stream_messages",
        "funnel_collector_stream_bytes",
        "funnel_collector_dead_letter_messages",
        "funnel_nats_connected",
        "funnel_collector_ingest_lag_seconds",
        "funnel_reporter_request_duration_seconds",
        # Retention and the footprint (the collectors, from PostgreSQL).
        "funnel_storage_bytes",
        "funnel_retention_partitions",
        "funnel_retention_retained_events",
        "funnel_retention_oldest_event_seconds",
        "funnel_retention_dropped_events_total",
        "funnel_retention_time_seconds",
        "funnel_retention_size_bytes",
        "funnel_retention_drop_exclusive_seconds",
        # The collectors' filters of seen users (the repeat-user probe).
        "funnel_collector_user_filter_bytes",
        "funnel_collector_repeat_probe_events_total",
    }
)
# Gauges of seconds; every other `_seconds` metric is a histogram.
_SECONDS_GAUGES: Final = frozenset(
    {"funnel_retention_oldest_event_seconds", "funnel_retention_time_seconds"}
)
HISTOGRAMS: Final = frozenset(
    name for name in FUNNEL_METRICS if name.endswith("_seconds") and name not in _SECONDS_GAUGES
)

# Prometheus's own.
OTHER_METRICS: Final = frozenset({"up"})

# The exporter's prefixes stay in the pattern so a query reading them is reported.
_NAME = re.compile(r"\b((?:funnel|jetstream|gnatsd)_[a-z0-9_]+|up(?=\s*\{))")


def unknown_metrics(expression: str) -> set[str]:
    """Metric names in a PromQL expression that Funnel's services and Prometheus do not provide."""
    unknown = set()
    for name in _NAME.findall(expression):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        if base in HISTOGRAMS or (base == name and name in FUNNEL_METRICS | OTHER_METRICS):
            continue
        unknown.add(name)
    return unknown
