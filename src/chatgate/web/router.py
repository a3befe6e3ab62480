"""The ASGI router at the edge: the chat endpoints first, the FastAPI app for
everything else.

The chat routes are answered before FastAPI's exception middleware and router,
which would cost more than the relay itself. Every other request has its
credential checked first where its route needs one (so a stranger's body is
never read), then its body read within the JSON limit, and only then reaches
FastAPI.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatgate.errors import ChatgateError
from chatgate.web.body import ClientDisconnected, read_body, replay
from chatgate.web.credentials import Credentials
from chatgate.web.errors import error_response, unexpected_error_response
from chatgate.web.headers import header

# A response to a signed-in request holds that user's data (a new token, a
# profile's keys masked): no cache anywhere may keep it.
PRIVATE_HEADERS = ((b"cache-control", b"no-store"),)


class ChatgateApp(FastAPI):
    """FastAPI, entered through the edge: ``mount_edge`` puts the router (and the
    middleware around it) in front of FastAPI's own handling. A server is handed
    ``edge`` itself, one call less on the way of every request."""

    edge: ASGIApp

    def mount_edge(self, edge: ASGIApp) -> None:
        self.edge = edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.edge(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI itself: its middleware, its router, its exception handlers."""
        await super().__call__(scope, receive, send)


class WebRouter:
    def __init__(
        self,
        *,
        chat_routes: Collection[Route],
        api: ASGIApp,
        signed_in: Collection[Route],
        credentials: Credentials,
        max_json_body: int,
    ) -> None:
        self.chat: Mapping[str, Route] = {route.path: route for route in chat_routes}
        self.api = api
        self.signed_in = tuple(signed_in)
        self.credentials = credentials
        self.max_json_body = max_json_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST":
                route = self.chat.get(scope["path"])
                if route is not None:
                    scope["route"] = route
                    await route.app(scope, receive, send)
                    return
            await self.api_request(scope, receive, send)
            return
        await self.api(scope, receive, send)  # the lifespan

    async def api_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})
        try:
            if self.needs_credential(scope):
                identity = await self.credentials.resolve(scope)
                state["identity"] = identity
                state["user_id"] = identity.owner.user_id
                send = with_headers(send, PRIVATE_HEADERS)
            body = await read_body(
                receive, limit=self.max_json_body, content_length=header(scope, b"content-length")
            )
        except ClientDisconnected:
            return
        except ChatgateError as exc:
            await error_response(exc, path=scope["path"])(scope, receive, send)
            return
        except Exception as exc:
            what = f"{scope['method']} {scope['path']}"
            request_id = state.get("request_id", "-")
            await unexpected_error_response(exc, what=what, request_id=request_id)(
                scope, receive, send
            )
            return
        await self.api(scope, replay(body, receive), send)

    def needs_credential(self, scope: Scope) -> bool:
        """Whether the request is for a route that needs a signed-in user."""
        path, method = scope["path"], scope["method"]
        return any(
            route.path_regex.match(path) and (route.methods is None or method in route.methods)
            for route in self.signed_in
        )


def with_headers(send: Send, headers: tuple[tuple[bytes, bytes], ...]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
        await send(message)

    return send_with_headers
