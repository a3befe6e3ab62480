"""Upstreams that misbehave on purpose, each a loopback server with one
handler, read through stream_text as chatgate reads every answer."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from chatgate.errors import BadRequest, StreamBroken, UpstreamError, UpstreamTimeout
from chatgate.providers import anthropic, google, openai
from chatgate.providers.chat import EventText, UpstreamCall, only_status_401
from chatgate.upstream import MAX_LINE, DestinationPolicy, UpstreamPolicy, new_session, stream_text

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable[str]]
NO_RETRY = UpstreamPolicy(max_retries=0)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve one handler at /stream (and count what reaches /elsewhere); returns the URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_post("/stream", handler)
        app.router.add_route("*", "/elsewhere", elsewhere)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}/stream"

    yield start
    for runner in runners:
        await runner.cleanup()


REACHED_ELSEWHERE: list[str] = []


async def elsewhere(request: web.Request) -> web.Response:
    REACHED_ELSEWHERE.append(request.method)
    return web.Response(body=chunk("Redirected") + b"data: [DONE]\n\n")


def chunk(text: str) -> bytes:
    return b"data: " + orjson.dumps({"choices": [{"delta": {"content": text}}]}) + b"\n\n"


async def event_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


async def read(
    url: str,
    *,
    into: list[str],
    policy: UpstreamPolicy = NO_RETRY,
    event_text: EventText = openai.delta_text,
    end_marker: bytes | None = b"[DONE]",
    http: aiohttp.ClientSession | None = None,
) -> None:
    """The answer's pieces, into ``into`` as they arrive (kept when it fails)."""
    call = UpstreamCall(
        url=url,
        headers={},
        body=b"{}",
        key_rejected=only_status_401,
        event_text=event_text,
        end_marker=end_marker,
    )
    session = http or new_session()
    try:
        async for piece in stream_text(session, call, policy=policy, provider_name="Test"):
            into.append(piece)
    finally:
        if http is None:
            await session.close()


async def keep_alives(response: web.StreamResponse, *, seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        await response.write(b": keep-alive\n\n\n")
        await asyncio.sleep(0.2)


async def test_keep_alives_do_not_hold_off_the_first_byte_timeout(serve: Serve) -> None:
    async def chatter(request: web.Request) -> web.StreamResponse:
        response = await event_stream(request)
        await keep_alives(response, seconds=30)
        return response

    url = await serve(chatter)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer in time \(no response\)"):
        async with asyncio.timeout(6):
            await read(url, into=[], policy=UpstreamPolicy(first_byte_timeout=1, max_retries=0))
    assert 0.9 <= time.monotonic() - started < 2


async def test_keep_alives_do_not_hold_off_the_idle_timeout(serve: Serve) -> None:
    async def text_then_chatter(request: web.Request) -> web.StreamResponse:
        response = await event_stream(request)
        await response.write(chunk("Hello"))
        await response.write(b'data: {"choices": []}\n\n')  # an event without text
        await keep_alives(response, seconds=30)
        return response

    url = await serve(text_then_chatter)
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"\(stalled mid-answer\)"):
        async with asyncio.timeout(6):
            await read(url, into=received, policy=UpstreamPolicy(idle_timeout=1, max_retries=0))
    assert received == ["Hello"]
    assert time.monotonic() - started < 2


async def test_text_keeps_a_slow_answer_alive(serve: Serve) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        response = await event_stream(request)
        for word in ("one ", "two ", "three"):
            await response.write(chunk(word))
            await asyncio.sleep(0.3)
        await response.write(b"data: [DONE]\n\n")
        return response

    url = await serve(slow)
    received: list[str] = []
    await read(url, into=received, policy=UpstreamPolicy(first_byte_timeout=0.5, idle_timeout=0.5))
    assert "".join(received) == "one two three"


def endless_line(limit_bytes: int) -> Handler:
    """``data: aaaa...`` with no line end, until the reader goes or ``limit_bytes`` are sent."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await event_stream(request)
        await response.write(chunk("Before "))
        block = b"a" * 65536
        sent = 0
        await response.write(b"data: ")
        while sent < limit_bytes:
            await response.write(block)
            sent += len(block)
        return response

    return handler


async def test_a_line_without_an_end_is_cut_off_past_its_bound(serve: Serve) -> None:
    url = await serve(endless_line(64 * 1024 * 1024))
    received: list[str] = []
    cpu = time.process_time()
    with pytest.raises(StreamBroken, match=f"longer than {MAX_LINE} bytes"):
        async with asyncio.timeout(10):
            await read(url, into=received)
    assert received == ["Before "]  # the text before it still arrived
    assert time.process_time() - cpu < 1.5


def gzip_bomb(size: int, *, line_ends: bool = False) -> bytes:
    """``size`` bytes of one endless event line (or of blank lines), gzipped (about 1:1000)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = (b"\n" if line_ends else b"a") * (1024 * 1024)
    parts = [compressor.compress(b"data: ")]
    parts += [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


async def test_a_gzip_bomb_is_cut_off_without_being_inflated(serve: Serve) -> None:
    bomb = gzip_bomb(256 * 1024 * 1024)
    assert len(bomb) < 512 * 1024

    async def handler(request: web.Request) -> web.Response:
        headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
        return web.Response(body=bomb, headers=headers)

    url = await serve(handler)
    tracemalloc.start()
    try:
        with pytest.raises(StreamBroken, match="longer than"):
            async with asyncio.timeout(10):
                await read(url, into=[])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


async def test_a_compressed_answer_still_arrives_whole(serve: Serve) -> None:
    body = gzip.compress(chunk("Hello ") + chunk("world") + b"data: [DONE]\n\n")

    async def handler(request: web.Request) -> web.Response:
        headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
        return web.Response(body=body, headers=headers)

    received: list[str] = []
    await read(await serve(handler), into=received)
    assert "".join(received) == "Hello world"


def anthropic_delta(text: str) -> bytes:
    delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
    return b"event: content_block_delta\ndata: " + orjson.dumps(delta) + b"\n\n"


def gemini_chunk(text: str, finish: str | None = None) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    return b"data: " + orjson.dumps({"candidates": [candidate]}) + b"\r\n\r\n"


# (event_text, end marker, the answer's text events, its end)
FORMATS = {
    "openai": (
        openai.delta_text,
        b"[DONE]",
        [chunk("Hello "), chunk("world")],
        b'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
    ),
    "anthropic": (
        anthropic.event_text,
        None,
        [anthropic_delta("Hello "), anthropic_delta("world")],
        b'event: message_stop\ndata: {"type": "message_stop"}\n\n',
    ),
    "google": (
        google.event_text,
        None,
        [gemini_chunk("Hello "), gemini_chunk("world")],
        gemini_chunk("", "STOP"),
    ),
}


def answer(writes: list[bytes]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = await event_stream(request)
        for data in writes:
            await response.write(data)
            await asyncio.sleep(0.01)
        await response.write_eof()
        return response

    return handler


@pytest.mark.parametrize("wire", FORMATS)
async def test_an_answer_that_closes_before_its_end_is_cut_off(serve: Serve, wire: str) -> None:
    event_text, marker, events, end = FORMATS[wire]
    received: list[str] = []
    await read(await serve(answer([*events, end])), into=received, event_text=event_text,
               end_marker=marker)  # fmt: skip
    assert "".join(received) == "Hello world"

    received.clear()
    with pytest.raises(StreamBroken, match="closed the connection before the end of the answer"):
        await read(await serve(answer(events)), into=received, event_text=event_text,
                   end_marker=marker)  # fmt: skip
    assert "".join(received) == "Hello world"


async def test_an_answer_that_closes_before_any_text_is_a_502(serve: Serve) -> None:
    role_only = b'data: {"choices": [{"delta": {"role": "assistant", "content": ""}}]}\n\n'
    with pytest.raises(StreamBroken, match="closed the connection before answering") as raised:
        await read(await serve(answer([role_only])), into=[])
    assert raised.value.status == 502


@pytest.mark.parametrize(
    ("status", "location"),
    [
        (301, "/elsewhere"),
        (303, "/elsewhere"),
        (307, "/elsewhere"),
        (308, "/elsewhere"),
        (307, "file:///etc/passwd"),
        (302, "http://[::1"),
    ],
)
async def test_redirects_are_never_followed(serve: Serve, status: int, location: str) -> None:
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location}, text="moved")

    REACHED_ELSEWHERE.clear()
    with pytest.raises(UpstreamError) as raised:
        await read(await serve(redirect), into=[])
    assert raised.value.status == 502
    assert raised.value.message == f"Test answered with a redirect (status {status})"
    assert REACHED_ELSEWHERE == []


async def test_an_error_body_that_is_not_a_providers_is_not_relayed(serve: Serve) -> None:
    async def internal(request: web.Request) -> web.Response:
        return web.Response(status=404, text="admin console: user list ...")

    with pytest.raises(UpstreamError) as raised:
        await read(await serve(internal), into=[])
    assert (raised.value.status, raised.value.message) == (404, "Test answered with status 404")


async def speaks_something_else() -> tuple[asyncio.Server, int]:
    async def banner(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(banner, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_closed_port_and_an_open_one_read_alike() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    server, open_port = await speaks_something_else()
    answers = []
    try:
        for port in (closed_port, open_port):
            with pytest.raises(UpstreamError) as raised:
                await read(f"http://127.0.0.1:{port}/v1/chat/completions", into=[])
            answers.append((raised.value.status, raised.value.message))
    finally:
        server.close()
    assert answers == [(502, "Test could not be reached")] * 2


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/stream",
        "http://localhost:{port}/stream",  # a name: refused once resolved
        "http://[::1]:{port}/stream",
        "http://[::ffff:127.0.0.1]:{port}/stream",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/v1",
    ],
)
async def test_private_destinations_are_refused_when_denied(serve: Serve, url: str) -> None:
    reached: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        reached.append(request.path)
        return await answer([chunk("Hi"), b"data: [DONE]\n\n"])(request)

    port = int((await serve(handler)).split(":")[2].split("/")[0])
    http = new_session(DestinationPolicy(deny_private=True))
    try:
        with pytest.raises(BadRequest, match="CHATGATE_ALLOWED_UPSTREAM_HOSTS") as raised:
            await read(url.format(port=port), into=[], http=http)
    finally:
        await http.close()
    assert raised.value.status == 400
    assert reached == []


@pytest.mark.parametrize(
    ("allowed", "operator_urls"),
    [
        (["127.0.0.1"], []),  # the address: also what localhost resolves to
        (["localhost", "127.0.0.1:{port}"], []),  # a port: that port only
        ([], ["http://127.0.0.1:{port}/v1", "http://localhost:{port}"]),  # the operator's
    ],
)
async def test_allowed_and_operator_hosts_are_reached(
    serve: Serve, allowed: list[str], operator_urls: list[str]
) -> None:
    url = await serve(answer([chunk("Hi"), b"data: [DONE]\n\n"]))
    port = url.split(":")[2].split("/")[0]
    policy = DestinationPolicy.build(
        deny_private=True,
        allowed=[a.format(port=port) for a in allowed],
        operator_urls=[u.format(port=port) for u in operator_urls],
    )
    http = new_session(policy)
    try:
        for target in (url, url.replace("127.0.0.1", "localhost")):
            received: list[str] = []
            await read(target, into=received, http=http)
            assert received == ["Hi"]
    finally:
        await http.close()
