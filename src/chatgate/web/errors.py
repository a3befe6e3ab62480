"""The one renderer of errors: every route's error is ``{"message": ...}`` with
its status and headers, whether the chat endpoints, the edge or FastAPI raised it."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from chatgate.errors import BadRequest, ChatgateError, describe_validation_errors
from chatgate.v1.errors import openai_error_response

log = logging.getLogger(__name__)


class FrameworkError(ChatgateError):
    """The framework's own answers: no such route (404), a method it does not take (405)."""

    def __init__(self, exc: HTTPException) -> None:
        super().__init__(str(exc.detail))
        self.status = exc.status_code
        self._headers = dict(exc.headers or {})

    def headers(self) -> dict[str, str]:
        return self._headers


def error_response(exc: ChatgateError, *, path: str = "") -> Response:
    """``{"message"}``; on OpenAI's API (``/v1/...``), OpenAI's error shape."""
    if path.startswith("/v1/"):
        return openai_error_response(exc)
    return Response(
        orjson.dumps({"message": exc.message}),
        status_code=exc.status,
        headers=exc.headers(),
        media_type="application/json",
    )


def unexpected_error_response(
    exc: BaseException, *, what: str, request_id: str, path: str = ""
) -> Response:
    """A 500 that says nothing of the failure; the log has it all."""
    log.error("%s failed", what, exc_info=exc, extra={"request_id": request_id})
    return error_response(ChatgateError(), path=path)


def as_chatgate_error(exc: Exception) -> ChatgateError | None:
    """The framework's errors as chatgate's; None for an unexpected one."""
    if isinstance(exc, ChatgateError):
        return exc
    if isinstance(exc, RequestValidationError):
        return BadRequest(describe_validation_errors(exc.errors()))
    if isinstance(exc, HTTPException):
        return FrameworkError(exc)
    return None


def add_error_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> Response:
        error = as_chatgate_error(exc)
        if error is not None:
            return error_response(error, path=request.url.path)
        return unexpected_error_response(
            exc,
            what=f"{request.method} {request.url.path}",
            request_id=request.scope.get("state", {}).get("request_id", "-"),
        )

    for kind in (ChatgateError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, on_error)
