"""Prometheus helpers: every service builds metrics on its own explicit registry."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def metrics_router() -> APIRouter:
    """`GET /metrics`, rendering the `registry` from the lifespan state."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        registry: CollectorRegistry = request.state.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
