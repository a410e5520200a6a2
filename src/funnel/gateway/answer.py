"""The JSON answers of `POST /webhook` (contract section 3).

202: `{"accepted": N, "rejected": M, "correlationId": "...", "errors": [...]}` with at most
`max_errors` entries; past that `errorsTruncated` is true and `errorsOmitted` says how many
were left out. Errors: `{"error": "...", "reason": "...", "correlationId": "..."}` plus the
refusal's own fields, and a `Retry-After` header where waiting helps.
"""

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response

from funnel.events import Rejected
from funnel.gateway.errors import WebhookError


def _json(
    status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    # FieldError is a dataclass: orjson writes it as {"path": ..., "message": ...} natively.
    return Response(
        orjson.dumps(body), status_code=status_code, headers=headers, media_type="application/json"
    )


def accepted_answer(
    *, accepted: int, rejected: Sequence[Rejected], correlation_id: str, max_errors: int
) -> Response:
    """202 once every valid event and every dead letter of the request is stored."""
    listed = rejected[:max_errors]
    body: dict[str, Any] = {
        "accepted": accepted,
        "rejected": len(rejected),
        "correlationId": correlation_id,
        "errors": [
            {"index": entry.index, "eventId": entry.event_id, "errors": entry.errors}
            for entry in listed
        ],
    }
    if len(rejected) > len(listed):
        body["errorsTruncated"] = True
        body["errorsOmitted"] = len(rejected) - len(listed)
    return _json(202, body)


def refusal_answer(error: WebhookError, correlation_id: str) -> Response:
    """The error's status code with its JSON body, its reason and the request's correlation
    id; `Retry-After` when the error names a wait."""
    body = {**error.body(), "reason": error.reason, "correlationId": correlation_id}
    headers = None if error.retry_after is None else {"Retry-After": str(error.retry_after)}
    return _json(error.status_code, body, headers)
