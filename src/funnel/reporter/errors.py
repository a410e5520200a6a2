"""What goes wrong in a report request, and the one place that turns it into JSON.

`InvalidParamsError` is the caller's fault (400, naming each bad parameter);
`DatabaseUnavailableError` from `funnel.db` means try again later (503). Anything else is a
bug: logged with its traceback, answered with a plain 500 body.
"""

from dataclasses import dataclass

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from funnel.db import DatabaseUnavailableError, SchemaNotCurrentError

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ParamProblem:
    param: str
    message: str


class InvalidParamsError(Exception):
    """One or more query parameters are unknown, repeated, malformed or contradictory."""

    def __init__(self, problems: list[ParamProblem]) -> None:
        super().__init__("; ".join(f"{p.param}: {p.message}" for p in problems))
        self.problems = problems


def _invalid(problems: list[ParamProblem]) -> JSONResponse:
    details = [{"param": p.param, "message": p.message} for p in problems]
    return JSONResponse({"error": "invalid query parameters", "details": details}, 400)


async def _on_invalid_params(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidParamsError)
    return _invalid(exc.problems)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own 422 never leaks: its errors get our 400 shape.
    assert isinstance(exc, RequestValidationError)
    problems = [
        ParamProblem(str(error["loc"][-1]) if error.get("loc") else "?", str(error["msg"]))
        for error in exc.errors()
    ]
    return _invalid(problems)


async def _on_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    _log.warning("database_unavailable", error=str(exc))
    return JSONResponse({"error": "database unavailable, try again later"}, 503)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    _log.exception("report_failed", error=str(exc))
    return JSONResponse({"error": "internal error"}, 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidParamsError, _on_invalid_params)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DatabaseUnavailableError, _on_unavailable)
    app.add_exception_handler(SchemaNotCurrentError, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
