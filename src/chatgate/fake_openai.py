"""An OpenAI-compatible streaming server for tests, benchmarks and try-outs.

It speaks the real wire format: ``chat.completion.chunk`` events as
server-sent events ending with ``data: [DONE]``, and OpenAI's error bodies
(the real 401 for the key ``sk-bad``). A line in the last message's text of the
form ``#fake key=value ...`` makes that one request misbehave:

status=N [code=C] [retry_after=S] [times=K]  answer status N (the first K times)
chunks=N  delay_ms=D  first_byte_delay_ms=D  shape of the answer
fail_after=N     drop the connection after N text chunks
error_after=N    send an in-band error event after N text chunks
malformed_after=N  send a line that is not JSON after N text chunks
stall_after=N    stop sending (keep the connection open) after N text chunks
trickle=1        send each event a byte at a time

GET /_fake/requests lists what it received; GET /_fake/stats counts streams
(open, completed, and cut short by the client going away).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

WORDS = (
    "This",
    "is",
    "a",
    "streamed",
    "answer",
    "from",
    "the",
    "chatgate",
    "fake",
    "OpenAI",
    "upstream",
    ".",
)
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    408: "timeout",
    409: "conflict",
    429: "rate_limit_exceeded",
}

REQUESTS: web.AppKey[list[dict[str, Any]]] = web.AppKey("requests", list)
STATS: web.AppKey[Counter[str]] = web.AppKey("stats", Counter[str])
ATTEMPTS: web.AppKey[Counter[str]] = web.AppKey("attempts", Counter[str])
DEFAULTS: web.AppKey[dict[str, int]] = web.AppKey("defaults", dict)


def reply_pieces(count: int) -> list[str]:
    """The answer the fake streams: ``count`` pieces, one word each."""
    return [WORDS[i % len(WORDS)] + " " for i in range(count)]


def openai_error(status: int, message: str, code: str | None = None) -> web.Response:
    body = {
        "error": {
            "message": message,
            "type": STATUS_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def directives(messages: Any) -> dict[str, str]:
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return {}
    content = messages[-1].get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        return {}
    for line in content.splitlines():
        if line.startswith("#fake "):
            return dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
    return {}


def chunk_event(
    completion_id: str, model: str, created: int, delta: dict[str, Any], finish: str | None
) -> bytes:
    event = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(event) + b"\n\n"


async def chat_completions(request: web.Request) -> web.StreamResponse:
    app = request.app
    raw = await request.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return openai_error(400, "We could not parse the JSON body of your request.")
    headers = {str(name): value for name, value in request.headers.items()}
    app[REQUESTS].append({"headers": headers, "body": body})

    auth = request.headers.get("Authorization", "")
    key = auth.removeprefix("Bearer ").strip()
    if not key:
        return openai_error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization"
            " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if key == "sk-bad":
        shown = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:]
        return openai_error(
            401,
            f"Incorrect API key provided: {shown}. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_api_key",
        )
    if not isinstance(body, dict) or "model" not in body or "messages" not in body:
        return openai_error(400, "you must provide a model parameter")

    fake = directives(body.get("messages"))
    if "status" in fake:
        tag = " ".join(f"{k}={v}" for k, v in sorted(fake.items()))
        app[ATTEMPTS][tag] += 1
        if app[ATTEMPTS][tag] <= int(fake.get("times", "1000000")):
            refusal = openai_error(
                int(fake["status"]), f"Fake failure with status {fake['status']}", fake.get("code")
            )
            if "retry_after" in fake:
                refusal.headers["Retry-After"] = fake["retry_after"]
            return refusal

    defaults = app[DEFAULTS]
    count = int(fake.get("chunks", defaults["chunks"]))
    delay = int(fake.get("delay_ms", defaults["delay_ms"])) / 1000
    first_delay = int(fake.get("first_byte_delay_ms", "0")) / 1000
    model = str(body["model"])
    if not body.get("stream"):
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(reply_pieces(count))},
                        "finish_reason": "stop",
                    }
                ],
            },
            dumps=lambda o: orjson.dumps(o).decode(),
        )

    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    stats = app[STATS]
    stats["open"] += 1
    completion_id, created = f"chatcmpl-fake{stats['started']}", int(time.time())
    stats["started"] += 1
    try:
        if first_delay:
            await asyncio.sleep(first_delay)
        await response.prepare(request)
        await response.write(
            chunk_event(completion_id, model, created, {"role": "assistant", "content": ""}, None)
        )
        for index, piece in enumerate(reply_pieces(count)):
            if index == int(fake.get("fail_after", -1)):
                assert request.transport is not None
                request.transport.abort()
                stats["failed"] += 1
                return response
            if index == int(fake.get("error_after", -1)):
                error = {
                    "error": {
                        "message": "The server had an error while processing your request.",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                }
                await response.write(b"data: " + orjson.dumps(error) + b"\n\n")
                await response.write_eof()
                return response
            if index == int(fake.get("malformed_after", -1)):
                await response.write(b"data: {not json\n\n")
            if index == int(fake.get("stall_after", -1)):
                await asyncio.sleep(3600)
            if delay and index:
                await asyncio.sleep(delay)
            event = chunk_event(completion_id, model, created, {"content": piece}, None)
            if fake.get("trickle"):
                for position in range(len(event)):
                    await response.write(event[position : position + 1])
                    await asyncio.sleep(0.001)
            else:
                await response.write(event)
        # A keep-alive comment and a usage chunk, as OpenAI sends with include_usage.
        await response.write(b": keep-alive\n\n")
        await response.write(chunk_event(completion_id, model, created, {}, "stop"))
        usage = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": count, "total_tokens": count + 5},
        }
        await response.write(b"data: " + orjson.dumps(usage) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        stats["completed"] += 1
    except (ConnectionResetError, asyncio.CancelledError):
        stats["client_gone"] += 1
        raise
    finally:
        stats["open"] -= 1
    return response


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[REQUESTS], dumps=lambda o: orjson.dumps(o).decode())


async def clear_requests(request: web.Request) -> web.Response:
    request.app[REQUESTS].clear()
    return web.json_response({"cleared": True})


async def stats(request: web.Request) -> web.Response:
    counts: Counter[str] = request.app[STATS]
    return web.json_response(dict(counts))


def create_fake_app(*, chunks: int = 12, delay_ms: int = 0) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[REQUESTS] = []
    app[STATS] = Counter()
    app[ATTEMPTS] = Counter()
    app[DEFAULTS] = {"chunks": chunks, "delay_ms": delay_ms}
    app.router.add_post("/v1/chat/completions", chat_completions)
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
        # A client that goes away cancels its handler, even while it sleeps before the answer.
        handler_cancellation=True,
    )
