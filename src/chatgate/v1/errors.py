"""Errors as OpenAI's API gives them, ``{"error": {"message", "type", "param",
"code"}}``, so each OpenAI SDK raises its own exception class for them."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from chatgate.errors import ChatgateError, NotAuthenticated, NotFound

TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_exceeded",
}
CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The model `{name}` does not exist or you do not have access to it;"
            " GET /v1/models lists the models you can use, named <provider>/<model>"
        )


def error_object(exc: ChatgateError) -> dict[str, Any]:
    code = getattr(exc, "code", None) or CODES.get(exc.status)
    if isinstance(exc, NotAuthenticated):
        code = "invalid_api_key"
    return {
        "message": exc.message,
        "type": TYPES.get(exc.status, "api_error"),
        "param": getattr(exc, "param", None),
        "code": code,
    }


def openai_error_response(exc: ChatgateError) -> Response:
    error = error_object(exc)
    headers = exc.headers()
    if error["code"] == "insufficient_quota":
        # Waiting a few seconds will not cure it: the SDKs must not retry.
        headers = {**headers, "x-should-retry": "false"}
    return Response(
        orjson.dumps({"error": error}),
        status_code=exc.status,
        headers=headers,
        media_type="application/json",
    )


def openai_error_event(exc: ChatgateError) -> bytes:
    """A failure after the answer started: one unnamed event the SDKs raise on."""
    return b"data: " + orjson.dumps({"error": error_object(exc)}) + b"\n\n"
