"""The page at `/dashboard/`, its static files, and the two small JSON answers it reads.

`/dashboard/api/live` is the live snapshot (the `LiveSource` in the lifespan state under
`dashboard`); `/dashboard/api/catalog` the event kinds and intervals the reports take, so the
form offers only what the API accepts. Everything else under `/dashboard/` is a file of
`static/`, shipped inside the package.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from funnel.dashboard.live import LiveSnapshot, LiveSource

PATH: Final = "/dashboard/"
_STATIC: Final = Path(__file__).parent / "static"


class EventKind(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: str
    funnel_stage: str = Field(alias="funnelStage")
    event_type: str = Field(alias="eventType")


class Catalog(BaseModel):
    """What the reports' choice filters accept, as the reporter defines it."""

    model_config = ConfigDict(populate_by_name=True)

    event_kinds: list[EventKind] = Field(alias="eventKinds")
    intervals: list[str]


def _api_router(catalog: Catalog) -> APIRouter:
    router = APIRouter(prefix="/dashboard/api", include_in_schema=False)

    @router.get("/live", response_model=LiveSnapshot)
    async def live(request: Request) -> LiveSnapshot:
        source: LiveSource = request.state.dashboard
        return await source.snapshot()

    @router.get("/catalog", response_model=Catalog, response_model_by_alias=True)
    async def catalog_answer() -> Catalog:
        return catalog

    return router


def install_dashboard(
    app: FastAPI, event_kinds: Iterable[tuple[str, str, str]], intervals: Iterable[str]
) -> None:
    """Serve the page on `app`; its lifespan must put a `LiveSource` in state as `dashboard`."""
    catalog = Catalog(
        event_kinds=[
            EventKind(source=source, funnel_stage=stage, event_type=kind)
            for source, stage, kind in event_kinds
        ],
        intervals=list(intervals),
    )
    # The API routes first: the static mount below answers every other path under it.
    app.include_router(_api_router(catalog))
    app.mount(PATH.rstrip("/"), StaticFiles(directory=_STATIC, html=True), name="dashboard")
