"""The correlation-id middleware: accepted or generated, echoed, bound for log lines."""

import httpx
import structlog
from fastapi import FastAPI, Request
from structlog.testing import capture_logs

from funnel.observability import (
    CORRELATION_HEADER,
    CorrelationIdMiddleware,
    accept_correlation_id,
    current_correlation_id,
)

_log = structlog.get_logger()


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(CorrelationIdMiddleware)

    @app.get("/echo")
    async def echo(request: Request) -> dict[str, str | None]:
        _log.info("echo_called")
        return {"state": request.state.correlation_id, "context": current_correlation_id()}

    return app


async def _get(headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/echo", headers=headers)


async def test_caller_id_is_kept_and_echoed() -> None:
    """A plain id sent by the caller is used for the request and returned in the header."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await _get({CORRELATION_HEADER: "abc-123"})
    assert response.headers[CORRELATION_HEADER] == "abc-123"
    assert response.json() == {"state": "abc-123", "context": "abc-123"}
    assert [line["correlation_id"] for line in logs if line["event"] == "echo_called"] == [
        "abc-123"
    ]


async def test_missing_id_is_generated() -> None:
    """Without a header the middleware makes a fresh id and uses it everywhere."""
    response = await _get({})
    generated = response.headers[CORRELATION_HEADER]
    assert len(generated) == 32
    assert response.json() == {"state": generated, "context": generated}


async def test_unsafe_id_is_replaced() -> None:
    """An id with characters unfit for logs and headers is replaced, not echoed."""
    response = await _get({CORRELATION_HEADER: "bad id\twith spaces"})
    assert response.headers[CORRELATION_HEADER] != "bad id\twith spaces"


def test_accept_rejects_overlong_ids() -> None:
    """Ids longer than 128 characters are not trusted."""
    assert accept_correlation_id("a" * 128) == "a" * 128
    assert accept_correlation_id("a" * 129) != "a" * 129


async def test_context_is_clean_after_request() -> None:
    """The id does not leak into code running after the request."""
    await _get({CORRELATION_HEADER: "leak-check"})
    assert current_correlation_id() is None
