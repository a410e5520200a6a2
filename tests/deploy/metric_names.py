"""The metric names deploy files may query: contract section 7 and the NATS exporter's."""

import re
from typing import Final

# Contract section 7 (histograms by their base name).
FUNNEL_METRICS: Final = frozenset(
    {
        "funnel_gateway_events_accepted_total",
        "funnel_gateway_events_processed_total",
        "funnel_gateway_events_failed_total",
        "funnel_gateway_request_duration_seconds",
        "funnel_collector_events_accepted_total",
        "funnel_collector_events_processed_total",
        "funnel_collector_events_failed_total",
        "funnel_collector_batch_duration_seconds",
        "funnel_collector_consumer_pending_messages",
        "funnel_collector_ingest_lag_seconds",
        "funnel_reporter_request_duration_seconds",
    }
)
HISTOGRAMS: Final = frozenset(name for name in FUNNEL_METRICS if name.endswith("_seconds"))

# prometheus-nats-exporter with -varz -jsz=all, and Prometheus's own `up`.
OTHER_METRICS: Final = frozenset(
    {
        "up",
        "gnatsd_varz_connections",
        "jetstream_stream_total_messages",
        "jetstream_stream_total_bytes",
        "jetstream_consumer_num_pending",
        "jetstream_consumer_num_ack_pending",
        "jetstream_consumer_num_redelivered",
    }
)

_NAME = re.compile(r"\b((?:funnel|jetstream|gnatsd)_[a-z0-9_]+|up(?=\s*\{))")


def unknown_metrics(expression: str) -> set[str]:
    """Metric names in a PromQL expression that neither the contract nor NATS provides."""
    unknown = set()
    for name in _NAME.findall(expression):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        if base in HISTOGRAMS or (base == name and name in FUNNEL_METRICS | OTHER_METRICS):
            continue
        unknown.add(name)
    return unknown
