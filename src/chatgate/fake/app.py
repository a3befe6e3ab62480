"""The fake's routes: every wire format under its real path, and its own /_fake pages."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from chatgate.fake import anthropic, azure, embeddings, gemini, openai
from chatgate.fake.answer import ATTEMPTS, DEFAULTS, REQUESTS, STATS, json_response


async def list_requests(request: web.Request) -> web.Response:
    return json_response(200, request.app[REQUESTS])


async def clear_requests(request: web.Request) -> web.Response:
    request.app[REQUESTS].clear()
    return json_response(200, {"cleared": True})


async def stats(request: web.Request) -> web.Response:
    counts: Counter[str] = request.app[STATS]
    return json_response(200, dict(counts))


def create_fake_app(*, chunks: int = 12, delay_ms: int = 0) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[REQUESTS] = []
    app[STATS] = Counter()
    app[ATTEMPTS] = Counter()
    app[DEFAULTS] = {"chunks": chunks, "delay_ms": delay_ms}
    app.router.add_post("/v1/chat/completions", openai.chat_completions)
    app.router.add_post("/local/v1/chat/completions", openai.local_chat_completions)
    app.router.add_post("/openai/deployments/{deployment}/chat/completions", azure.chat_completions)
    app.router.add_post("/v1/embeddings", embeddings.embeddings)
    app.router.add_post("/local/v1/embeddings", embeddings.embeddings)
    app.router.add_post("/openai/deployments/{deployment}/embeddings", embeddings.embeddings)
    app.router.add_post("/v1/messages", anthropic.messages)
    app.router.add_post("/v1beta/models/{target}", gemini.generate_content)
    app.router.add_get("/_fake/requests", list_requests)
    app.router.add_delete("/_fake/requests", clear_requests)
    app.router.add_get("/_fake/stats", stats)
    return app


def run_fake(*, host: str, port: int, chunks: int, delay_ms: int) -> None:
    web.run_app(
        create_fake_app(chunks=chunks, delay_ms=delay_ms),
        host=host,
        port=port,
        print=None,
        access_log=None,
        # A stalled answer (stall_after=) would otherwise hold shutdown for a minute.
        shutdown_timeout=1,
        # A client that goes away cancels its handler, even while it waits to answer.
        handler_cancellation=True,
    )
