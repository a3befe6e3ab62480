"""create_app(settings): the runtime, the routes and the web edge in front of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp

from chatgate import __version__
from chatgate.api import admin, health, models, profile, quota, session, tokens, usage
from chatgate.api.deps import needs_credential
from chatgate.page.routes import load_static_files, page_router
from chatgate.providers import PROVIDERS
from chatgate.runtime import Runtime
from chatgate.settings import Settings, load_settings
from chatgate.v1 import models_route
from chatgate.v1.completions_route import CompletionsEndpoint
from chatgate.v1.embeddings_route import EmbeddingsEndpoint
from chatgate.web.access_log import AccessLog
from chatgate.web.chat_route import ChatEndpoint
from chatgate.web.credentials import Credentials
from chatgate.web.errors import add_error_handlers
from chatgate.web.openapi import install_openapi
from chatgate.web.router import ChatgateApp, WebRouter


def create_app(
    settings: Settings, *, http: Callable[[], aiohttp.ClientSession] | None = None
) -> ChatgateApp:
    """The app; ``http`` makes the session upstream requests go through (a test's)."""
    runtime = Runtime(settings) if http is None else Runtime(settings, new_http=http)

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
    credentials = Credentials(runtime)
    app.state.runtime = runtime
    app.state.credentials = credentials
    chat_routes = [
        Route(
            f"/api/chat/{p.name}",
            ChatEndpoint(runtime, p, credentials=credentials),
            methods=["POST"],
        )
        for p in PROVIDERS
    ]
    chat_routes += [
        Route(
            "/v1/chat/completions",
            CompletionsEndpoint(runtime, credentials=credentials),
            methods=["POST"],
        ),
        Route(
            "/v1/embeddings",
            EmbeddingsEndpoint(runtime, credentials=credentials),
            methods=["POST"],
        ),
    ]
    # Also in FastAPI's router, which answers their other methods (405).
    app.router.routes.extend(chat_routes)
    routers = (
        profile.router,
        tokens.router,
        models.router,
        health.router,
        session.router,
        admin.router,
        usage.router,
        quota.router,
        models_route.router,
    )
    for router in routers:
        app.include_router(router)
    app.include_router(page_router(load_static_files()))
    add_error_handlers(app)
    install_openapi(app, PROVIDERS)
    edge: ASGIApp = WebRouter(
        chat_routes=chat_routes,
        api=app.handle,
        signed_in=[r for router in routers for r in router.routes if needs_credential(r)],
        credentials=credentials,
        max_json_body=settings.max_json_body_bytes,
    )
    if settings.cors_origins:
        edge = CORSMiddleware(
            edge,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["X-Request-Id", "Retry-After"],
            max_age=600,
        )
    app.mount_edge(AccessLog(edge, metrics=runtime.metrics))
    return app


def create_app_from_env() -> ASGIApp:
    """The factory `chatgate serve` hands to uvicorn (once per worker): the app's
    edge, where every request enters (its lifespan reaches FastAPI through it)."""
    return create_app(load_settings()).edge
