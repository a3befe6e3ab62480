"""Reading server-sent events into text, against a loopback server that
sends exactly the bytes a test gives it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import orjson
import pytest
from aiohttp import web

from chatgate.errors import StreamBroken, UpstreamError
from chatgate.providers import anthropic, openai
from chatgate.providers.chat import EventText
from chatgate.upstream import MAX_LINE
from chatgate.upstream.events import DataLines
from tests.unit.test_hostile_upstreams import read

Serve = Callable[[list[bytes]], str]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve the given writes, one after another, as an event stream; returns its URL."""
    writes: list[bytes] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for data in writes:
            await response.write(data)
            await asyncio.sleep(0.01)  # each write its own read on the other side
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/stream", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()

    def set_writes(chunks: list[bytes]) -> str:
        writes[:] = chunks
        return f"http://127.0.0.1:{port}/stream"

    yield set_writes
    await runner.cleanup()


async def collect(url: str, event_text: EventText, into: list[str]) -> None:
    await read(url, into=into, event_text=event_text)


def chunk(text: str) -> bytes:
    return b"data: " + orjson.dumps({"choices": [{"delta": {"content": text}}]}) + b"\r\n\r\n"


async def test_events_split_across_reads_and_crlf_lines_are_read_whole(serve: Serve) -> None:
    first, second = chunk("Hello "), chunk("world")
    url = serve(
        [first[:10], first[10:] + second[:5], second[5:], b": keep-alive\n\ndata: [DONE]\n\n"]
    )
    received: list[str] = []
    await collect(url, openai.delta_text, received)
    assert "".join(received) == "Hello world"


async def test_text_before_an_error_event_still_arrives(serve: Serve) -> None:
    error = {"type": "error", "error": {"type": "api_error", "message": "Internal"}}
    delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Partial"}}
    text_event = b"event: content_block_delta\ndata: " + orjson.dumps(delta) + b"\n\n"
    error_event = b"event: error\ndata: " + orjson.dumps(error) + b"\n\n"
    url = serve([text_event + error_event])
    received: list[str] = []
    with pytest.raises(UpstreamError, match="Internal") as raised:
        await collect(url, anthropic.event_text, received)
    assert received == ["Partial"]
    assert raised.value.status == 500


async def test_a_key_echoed_in_an_error_event_is_redacted(serve: Serve) -> None:
    error = {"error": {"message": "Incorrect API key provided: sk-live-abcdef123456"}}
    url = serve([b"data: " + orjson.dumps(error) + b"\n\n"])
    with pytest.raises(UpstreamError) as raised:
        await collect(url, openai.delta_text, [])
    assert "abcdef123456" not in raised.value.message
    assert raised.value.message.startswith("Incorrect API key provided: ")


def test_a_long_line_split_across_many_reads_arrives_whole_and_one_too_long_does_not() -> None:
    text = "x" * (MAX_LINE - 200)
    event = chunk(text)
    lines = DataLines("Test")
    payloads: list[bytes | bytearray] = []
    for start in range(0, len(event), 1000):
        payloads += lines.feed(event[start : start + 1000])
    assert [openai.delta_text(orjson.loads(p)) for p in payloads] == [text]
    too_long = chunk("x" * MAX_LINE)
    for start in range(0, MAX_LINE, 1024):  # up to the bound: nothing yet
        assert lines.feed(too_long[start : start + 1024]) == []
    with pytest.raises(StreamBroken, match=f"longer than {MAX_LINE} bytes"):
        lines.feed(too_long[MAX_LINE:])
    with pytest.raises(StreamBroken):  # within one read, too
        DataLines("Test").feed(too_long)
    with pytest.raises(StreamBroken):  # and in one read with no line end at all
        DataLines("Test").feed(too_long.rstrip())
