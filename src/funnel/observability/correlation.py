"""Correlation ids: one per webhook request, carried to every message, log line and row.

The id lives in a contextvar (through structlog's contextvars), bound by the ASGI middleware
for HTTP requests and by `bound_correlation_id` wherever a message is received.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "X-Correlation-ID"
_HEADER_LOWER: Final = HEADER.lower().encode("latin-1")
# Ids from callers are echoed into logs and headers: accept only short, plain tokens.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accept_correlation_id(candidate: str | None) -> str:
    """The caller's id when it is a plain token, otherwise a fresh one."""
    if candidate and _ACCEPTABLE.match(candidate):
        return candidate
    return new_correlation_id()


def current_correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None


@contextmanager
def bound_correlation_id(correlation_id: str | None) -> Iterator[str | None]:
    """Bind the id for log lines written inside the block, restoring the previous one after."""
    if correlation_id is None:
        yield None
        return
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
        yield correlation_id


class CorrelationIdMiddleware:
    """Pure ASGI middleware: binds the request's correlation id and echoes it in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope["headers"]:
            if name == _HEADER_LOWER:
                sent = value.decode("latin-1")
                break
        correlation_id = accept_correlation_id(sent)
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = correlation_id
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
            await self.app(scope, receive, send_with_header)
