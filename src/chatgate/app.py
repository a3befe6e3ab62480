"""create_app(settings): the routes, the error handlers and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from chatgate import __version__
from chatgate.access_log import AccessLog
from chatgate.api import health, models, profile, tokens, usage
from chatgate.api.chat import ChatEndpoint
from chatgate.api.chat_openapi import chat_openapi
from chatgate.errors import ChatgateError, describe_validation_errors
from chatgate.providers import PROVIDERS
from chatgate.runtime import Runtime
from chatgate.settings import Settings, load_settings
from chatgate.streaming import Receive, Scope, Send

log = logging.getLogger(__name__)


ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ChatgateApp(FastAPI):
    """FastAPI for the API at large; the chat routes are answered before its
    exception middleware and router, which would cost more than the relay itself.
    The access log (and CORS, when configured) wrap both."""

    def serve_first(self, routes: list[Route], wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        self._first = {route.path: route for route in routes}
        self._outer = wrap(self._dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._outer(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            route = self._first.get(scope["path"])
            if route is not None:
                scope["route"] = route
                await route.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            if settings.migrate_on_start:
                # Imported here: serving workers skip Alembic (and its memory) entirely.
                from chatgate.db.migrate import migrate

                await migrate(runtime.db.engine)
            yield
        finally:
            await runtime.stop()

    app = ChatgateApp(
        title="chatgate",
        version=__version__,
        summary="A self-hosted streaming chat API server for Chatbot UI style front ends.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    chat_routes = [
        Route(f"/api/chat/{p.name}", ChatEndpoint(runtime, p), methods=["POST"]) for p in PROVIDERS
    ]
    # Also in the router, which answers their other methods (405) and their OpenAPI page.
    app.router.routes.extend(chat_routes)
    app.include_router(profile.router)
    app.include_router(tokens.router)
    app.include_router(models.router)
    app.include_router(health.router)
    app.include_router(usage.router)

    def wrap(inner: ASGIApp) -> ASGIApp:
        if settings.cors_origins:
            inner = CORSMiddleware(
                inner,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                expose_headers=["X-Request-Id", "Retry-After"],
                max_age=600,
            )
        return AccessLog(inner, metrics=runtime.metrics)

    app.serve_first(chat_routes, wrap)
    _add_error_handlers(app)
    _document_chat_route(app)
    return app


def create_app_from_env() -> FastAPI:
    """The factory `chatgate serve` hands to uvicorn (once per worker)."""
    return create_app(load_settings())


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChatgateError)
    async def on_chatgate_error(_request: Request, exc: ChatgateError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.headers())

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, describe_validation_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "%s %s failed",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"request_id": request.state.request_id},
        )
        return _error(500, "An unexpected error occurred")


def _document_chat_route(app: FastAPI) -> None:
    """The chat routes are plain ASGI, so FastAPI cannot see them: describe them by hand."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            chat = chat_openapi(PROVIDERS)
            schema["paths"].update(chat["paths"])
            schema.setdefault("components", {}).setdefault("schemas", {}).update(chat["schemas"])
            schema["components"]["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
