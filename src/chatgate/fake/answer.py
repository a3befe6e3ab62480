"""The answer every wire format streams, and the fake's bookkeeping.

A wire format (see the sibling modules) says how its events and errors look;
the faults of the ``#fake`` directives play out the same way in each.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, Protocol

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

REQUESTS: web.AppKey[list[dict[str, Any]]] = web.AppKey("requests", list)
STATS: web.AppKey[Counter[str]] = web.AppKey("stats", Counter[str])
ATTEMPTS: web.AppKey[Counter[str]] = web.AppKey("attempts", Counter[str])
DEFAULTS: web.AppKey[dict[str, int]] = web.AppKey("defaults", dict)


class Wire(Protocol):
    """How one provider's answer and errors look on the wire."""

    def error(self, status: int, message: str, code: str | None = None) -> web.Response: ...

    def prelude(self) -> list[bytes]: ...

    def piece(self, text: str) -> bytes: ...

    def in_band_error(self) -> bytes: ...

    def epilogue(self) -> list[bytes]: ...


def reply_pieces(count: int, *, choice: int = 0) -> list[str]:
    """The answer the fake streams: ``count`` pieces, one word each; the answer
    of choice ``k`` (OpenAI's ``n``) starts ``k`` words further along."""
    return [reply_piece(position, choice=choice) for position in range(count)]


def reply_piece(position: int, *, choice: int = 0) -> str:
    return WORDS[(position + choice) % len(WORDS)] + " "


def json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def sse(data: Any, event: str | None = None, end: bytes = b"\n\n") -> bytes:
    line = b"data: " + orjson.dumps(data) + end
    return b"event: " + event.encode() + b"\n" + line if event else line


def directives(text: str) -> dict[str, str]:
    """The ``#fake key=value ...`` line of a message's text, as a dict."""
    for line in text.splitlines():
        if line.startswith("#fake "):
            return dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
    return {}


def key_is_bad(key: str) -> bool:
    return key.endswith("bad")


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, recorded for /_fake/requests (None: not JSON)."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    request.app[REQUESTS].append(
        {
            "path": request.path_qs,
            "headers": {str(name): value for name, value in request.headers.items()},
            "body": body,
        }
    )
    return body


def status_fault(request: web.Request, wire: Wire, fake: dict[str, str]) -> web.Response | None:
    """The refusal a ``status=`` directive asks for, if it still applies, or the
    redirect a ``redirect=`` one asks for (``redirect_status=``, 307 by default)."""
    if "redirect" in fake:
        status = int(fake.get("redirect_status", "307"))
        return web.Response(status=status, headers={"Location": fake["redirect"]})
    if "status" not in fake:
        return None
    tag = request.path + " " + " ".join(f"{k}={v}" for k, v in sorted(fake.items()))
    attempts = request.app[ATTEMPTS]
    attempts[tag] += 1
    if attempts[tag] > int(fake.get("times", "1000000")):
        return None
    status = int(fake["status"])
    refusal = wire.error(status, f"Fake failure with status {status}", fake.get("code"))
    if "retry_after" in fake:
        refusal.headers["Retry-After"] = fake["retry_after"]
    return refusal


async def keep_alive(response: web.StreamResponse, *, seconds: float, every: float) -> None:
    """Comments only, as a proxy or a thinking model sends them, for ``seconds``."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        await response.write(b": keep-alive\n\n")
        await asyncio.sleep(min(every, max(until - loop.time(), 0)))


async def stream_answer(
    request: web.Request, wire: Wire, fake: dict[str, str], *, line_end: bytes = b"\n\n"
) -> web.StreamResponse:
    """The answer as server-sent events, misbehaving as the directives ask."""
    refusal = status_fault(request, wire, fake)
    if refusal is not None:
        return refusal
    defaults = request.app[DEFAULTS]
    count = int(fake.get("chunks", defaults["chunks"]))
    delay = int(fake.get("delay_ms", defaults["delay_ms"])) / 1000
    first_delay = int(fake.get("first_byte_delay_ms", "0")) / 1000
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    stats = request.app[STATS]
    stats["open"] += 1
    stats["started"] += 1
    try:
        if first_delay and "keepalive_ms" in fake:
            await response.prepare(request)
            every = int(fake["keepalive_ms"]) / 1000
            await keep_alive(response, seconds=first_delay, every=every)
        elif first_delay:
            await asyncio.sleep(first_delay)
        await response.prepare(request)
        for event in wire.prelude():
            await response.write(event)
        for index, piece in enumerate(reply_pieces(count)):
            if index == int(fake.get("fail_after", -1)):
                assert request.transport is not None
                request.transport.abort()
                stats["failed"] += 1
                return response
            if index == int(fake.get("error_after", -1)):
                await response.write(wire.in_band_error())
                await response.write_eof()
                return response
            if index == int(fake.get("malformed_after", -1)):
                await response.write(b"data: {not json" + line_end)
            if index == int(fake.get("stall_after", -1)):
                await asyncio.sleep(3600)
            if delay and index:
                await asyncio.sleep(delay)
            event = wire.piece(piece)
            if fake.get("trickle"):
                for position in range(len(event)):
                    await response.write(event[position : position + 1])
                    await asyncio.sleep(0.001)
            else:
                await response.write(event)
        # no_end: the connection closes cleanly, without the answer's end.
        for event in [] if fake.get("no_end") else wire.epilogue():
            await response.write(event)
        if "linger_ms" in fake:
            await asyncio.sleep(int(fake["linger_ms"]) / 1000)
        await response.write_eof()
        stats["completed"] += 1
    except (ConnectionResetError, asyncio.CancelledError):
        stats["client_gone"] += 1
        raise
    finally:
        stats["open"] -= 1
    return response
