"""The load generator's HTTP/1.1 client: one request at a time on each
keep-alive connection, parsed by httptools, timed to the first answer byte.

Two kinds of answer: chatgate's plain text, where every body byte is answer
text, and an OpenAI event stream (the floor), where the answer is the
``delta.content`` of each ``data:`` event and ``data: [DONE]`` ends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import httptools
import orjson

Mode = Literal["text", "sse"]


class AnswerReader(Protocol):
    ended: bool

    def feed(self, data: bytes) -> int:
        """Take a piece of the body; the number of answer bytes in it."""


class TextAnswer:
    ended = True  # a plain-text answer ends with its body

    def feed(self, data: bytes) -> int:
        return len(data)


class EventStreamAnswer:
    def __init__(self) -> None:
        self.ended = False
        self._pending = b""

    def feed(self, data: bytes) -> int:
        if self._pending:
            data = self._pending + data
        lines = data.split(b"\n")
        self._pending = lines.pop()
        size = 0
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                self.ended = True
                continue
            # The usage chunk at the end (include_usage) has no choices.
            choices = orjson.loads(payload)["choices"]
            content = choices[0]["delta"].get("content") if choices else None
            if content:
                size += len(content.encode())
        return size


def answer_reader(mode: Mode) -> AnswerReader:
    return TextAnswer() if mode == "text" else EventStreamAnswer()


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request's outcome; times in seconds from sending it."""

    status: int
    first_byte: float | None  # the first answer byte
    total: float
    answer_bytes: int
    ended: bool  # the answer's own end marker arrived
    abandoned: bool = False  # the client closed the connection at the first answer byte


class ResponseBroken(Exception):
    """The connection failed or sent something that is not HTTP; ``partial`` is what
    had arrived by then (status 0 when no status line had)."""

    def __init__(self, reason: str, partial: Exchange) -> None:
        super().__init__(reason)
        self.partial = partial


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Exchange] | None = None
        self._reader: AnswerReader = TextAnswer()
        self._sent_at = 0.0
        self._first_byte_at: float | None = None
        self._answer_bytes = 0
        self._abandon = False
        self.closed = False
        self.keep_alive = True

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"bad response: {exc}")
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail("connection lost")

    # httptools callbacks

    def on_body(self, body: bytes) -> None:
        size = self._reader.feed(body)
        if size:
            self._answer_bytes += size
            if self._first_byte_at is None:
                self._first_byte_at = time.perf_counter()
                if self._abandon:
                    self._finish(abandoned=True)
                    self.close()

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        self._finish(abandoned=False)

    # the client side

    async def exchange(
        self, request: bytes, reader: AnswerReader, *, abandon_at_first_byte: bool = False
    ) -> Exchange:
        """Send ``request`` and read its answer; with ``abandon_at_first_byte``, close
        the connection as soon as the first answer byte arrives, as a user leaving does."""
        assert self._transport is not None
        assert not self.closed
        self._waiter = asyncio.get_running_loop().create_future()
        self._reader = reader
        self._first_byte_at = None
        self._answer_bytes = 0
        self._abandon = abandon_at_first_byte
        self._sent_at = time.perf_counter()
        self._transport.write(request)
        return await self._waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def _so_far(self, *, ended: bool, abandoned: bool = False) -> Exchange:
        first = self._first_byte_at
        return Exchange(
            status=self._parser.get_status_code(),
            first_byte=None if first is None else first - self._sent_at,
            total=time.perf_counter() - self._sent_at,
            answer_bytes=self._answer_bytes,
            ended=ended,
            abandoned=abandoned,
        )

    def _finish(self, *, abandoned: bool) -> None:
        if self._waiter is not None and not self._waiter.done():
            ended = self._reader.ended and not abandoned
            self._waiter.set_result(self._so_far(ended=ended, abandoned=abandoned))

    def _fail(self, reason: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ResponseBroken(reason, self._so_far(ended=False)))


async def connect(host: str, port: int) -> Connection:
    _transport, connection = await asyncio.get_running_loop().create_connection(
        Connection, host, port
    )
    return connection


def bearer(token: str) -> dict[str, str]:
    """The header that signs a request in with a token."""
    return {"Authorization": f"Bearer {token}"}


def post_request(
    *, host: str, port: int, path: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    """The bytes of a POST with a JSON body and ``headers`` (the credential)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body
