"""Logs, correlation ids, health and metrics, shared by every service."""

from funnel.observability.correlation import (
    HEADER as CORRELATION_HEADER,
)
from funnel.observability.correlation import (
    CorrelationIdMiddleware,
    accept_correlation_id,
    bound_correlation_id,
    current_correlation_id,
    new_correlation_id,
)
from funnel.observability.health import Check, Phase, Readiness, health_router
from funnel.observability.logging import configure_logging
from funnel.observability.metrics import metrics_router

__all__ = [
    "CORRELATION_HEADER",
    "Check",
    "CorrelationIdMiddleware",
    "Phase",
    "Readiness",
    "accept_correlation_id",
    "bound_correlation_id",
    "configure_logging",
    "current_correlation_id",
    "health_router",
    "metrics_router",
    "new_correlation_id",
]
