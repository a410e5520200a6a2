"""`/docs`: Swagger UI over the reporter's OpenAPI schema, its assets served by the reporter.

FastAPI's default page loads Swagger UI from a CDN, which leaves `/docs` blank offline, and
local mode needs nothing but Python. So the page ("self-hosting JavaScript and CSS for docs"
in FastAPI's documentation) loads the files of swagger-ui-dist 5.36.0, shipped unchanged in
`static/swagger-ui` with their LICENSE and NOTICE (`npm pack swagger-ui-dist@5.36.0`), from
`/docs/assets`; the schema validator badge, which would call an outside service, is off.
"""

from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH: Final = "/docs"
ASSETS_PATH: Final = "/docs/assets"
ASSETS_DIR: Final = Path(__file__).with_name("static") / "swagger-ui"


def install_docs(app: FastAPI) -> None:
    """Serve the Swagger UI page at `/docs` and its assets below `/docs/assets`.

    The app must be built with `docs_url=None`, so that FastAPI adds no CDN page of its own.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        # Behind a proxy that mounts the reporter under a prefix, every URL carries it.
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - docs",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
