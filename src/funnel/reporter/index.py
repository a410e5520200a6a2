"""`/`: where a person who opens the reporter's address finds the reports and their docs.

A small JSON index rather than a redirect, so that a browser, curl and a script all learn
the same thing; the report paths are read from the app's OpenAPI schema, never listed twice.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from funnel.dashboard import PATH as DASHBOARD_PATH
from funnel.reporter.docs import DOCS_PATH

_REPORTS_PREFIX = "/reports/"


def index_router() -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def index(request: Request) -> JSONResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        reports = {
            path.removeprefix(_REPORTS_PREFIX): f"{root}{path}"
            for path in request.app.openapi()["paths"]
            if path.startswith(_REPORTS_PREFIX)
        }
        return JSONResponse(
            {
                "service": request.app.title,
                "reports": reports,
                "docs": f"{root}{DOCS_PATH}",
                "dashboard": f"{root}{DASHBOARD_PATH}",
                "openapi": f"{root}{request.app.openapi_url}",
                "health": f"{root}/health/ready",
                "metrics": f"{root}/metrics",
            }
        )

    return router
