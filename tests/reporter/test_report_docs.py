"""`/docs` works offline: Swagger UI's page and assets come from the reporter itself."""

import re

import httpx

from funnel.reporter.docs import ASSETS_DIR


async def test_docs_page_names_no_other_host(client: httpx.AsyncClient) -> None:
    """The page loads its script, style and icon from the reporter, and the schema too."""
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "://" not in page.text
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(referenced) == [
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in page.text
    assert '"validatorUrl": null' in page.text


async def test_docs_assets_are_served_from_the_package(client: httpx.AsyncClient) -> None:
    """Each asset is the shipped file, with its media type; the licence ships beside them."""
    for name, media_type in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ]:
        asset = await client.get(f"/docs/assets/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(media_type)
        assert asset.content == (ASSETS_DIR / name).read_bytes()
    assert "Apache License" in (ASSETS_DIR / "LICENSE").read_text()
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404


async def test_the_root_lists_the_reports_and_the_docs(client: httpx.AsyncClient) -> None:
    """`/` points a person to each report and to the docs, and every address it names
    answers; `/dashboard` stays free for a page of its own."""
    index = await client.get("/")
    assert index.status_code == 200
    body = index.json()
    assert body["reports"] == {
        "events": "/reports/events",
        "revenue": "/reports/revenue",
        "demographics": "/reports/demographics",
    }
    assert (body["docs"], body["openapi"]) == ("/docs", "/openapi.json")
    for path in [*body["reports"].values(), body["docs"], body["openapi"], body["metrics"]]:
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get(body["health"])).status_code == 200
    assert body["dashboard"] == "/dashboard/"
    assert (await client.get(body["dashboard"])).status_code == 200
