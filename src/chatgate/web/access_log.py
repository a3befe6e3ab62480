"""The access log, request ids and the headers every response carries, as plain
ASGI middleware.

Plain ASGI rather than BaseHTTPMiddleware: a streamed answer passes through it
chunk by chunk, and this adds one function call per chunk, nothing more.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatgate.metrics import Metrics

log = logging.getLogger("chatgate.access")

# On every response: a browser must never guess a type (a JSON error read as HTML).
RESPONSE_HEADERS = ((b"x-content-type-options", b"nosniff"),)


class AccessLog:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        headers: Sequence[tuple[bytes, bytes]] = RESPONSE_HEADERS,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(8).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        added = ((b"x-request-id", request_id.encode()), *self.headers)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.count_request(scope["method"], route, status)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status or "-",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": state.get("user_id"),
                    "outcome": state.get("outcome"),
                },
            )
