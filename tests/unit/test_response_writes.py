"""How a response reaches the socket: its head in the same write as the first
body chunk, so an answer's first text costs one system call and one segment."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from chatgate.web.connections import HeadWithFirstChunk


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def cycle(method: str = "POST") -> tuple[RequestResponseCycle, RecordingTransport]:
    transport = RecordingTransport()
    built = RequestResponseCycle(
        scope=cast(Any, {"method": method, "type": "http"}),
        transport=cast(asyncio.Transport, transport),
        flow=FlowControl(cast(asyncio.Transport, transport)),
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )
    built.__class__ = HeadWithFirstChunk
    return built, transport


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/")]}


def body(data: bytes, *, more: bool = True) -> Any:
    return {"type": "http.response.body", "body": data, "more_body": more}


async def test_the_head_and_the_first_text_leave_in_one_write() -> None:
    answer, transport = cycle()
    await answer.send(cast(Any, START))
    assert transport.writes == []  # held until the first chunk
    await answer.send(body(b"Hello"))
    await answer.send(body(b" world"))
    await answer.send(body(b"", more=False))
    first, second, end = transport.writes
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert first.endswith(b"\r\n\r\n5\r\nHello\r\n")  # the head, then the first chunk
    assert (second, end) == (b"6\r\n world\r\n", b"0\r\n\r\n")


@pytest.mark.parametrize("method", ["HEAD", "GET"])
async def test_a_response_without_body_still_gets_its_head(method: str) -> None:
    answer, transport = cycle(method)
    headers = [(b"content-length", b"0")]
    await answer.send(cast(Any, {"type": "http.response.start", "status": 204, "headers": headers}))
    await answer.send(body(b"", more=False))
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 204 No Content\r\n")
    assert answer.response_complete
