import asyncio

import orjson
import pytest

from bench.client import (
    Connection,
    EventStreamAnswer,
    ResponseBroken,
    TextAnswer,
    bearer,
    post_request,
)


def event(content: str | None) -> bytes:
    delta = {} if content is None else {"content": content}
    return b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": delta}]}) + b"\n\n"


def test_text_answer_counts_every_body_byte() -> None:
    answer = TextAnswer()
    assert answer.feed(b"This is ") == 8
    assert answer.ended


def test_event_stream_answer_counts_content_across_split_reads() -> None:
    stream = event("") + event("Hé ") + event("there") + event(None) + b"data: [DONE]\n\n"
    answer = EventStreamAnswer()
    sizes = [answer.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)]
    assert sum(sizes) == len("Hé there".encode())
    assert answer.ended


def test_event_stream_answer_skips_the_usage_chunk() -> None:
    usage = b'data: {"choices": [], "usage": {"total_tokens": 5}}\n\n'
    answer = EventStreamAnswer()
    assert answer.feed(event("Hi") + usage + b"data: [DONE]\n\n") == 2
    assert answer.ended


def test_event_stream_answer_is_not_ended_without_done() -> None:
    answer = EventStreamAnswer()
    answer.feed(event("Hi"))
    assert not answer.ended


def test_event_stream_answer_rejects_an_event_that_is_not_json() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        EventStreamAnswer().feed(b"data: {not json\n\n")


def test_post_request_has_length_and_token() -> None:
    request = post_request(
        host="127.0.0.1", port=9, path="/x", headers=bearer("t"), body=b'{"a":1}'
    )
    head, body = request.split(b"\r\n\r\n")
    assert head.startswith(b"POST /x HTTP/1.1\r\n")
    assert b"Authorization: Bearer t" in head
    assert b"Content-Length: 7" in head
    assert body == b'{"a":1}'


def test_post_request_signed_in_by_cookie_has_no_authorization() -> None:
    headers = {"Cookie": "sb-x-auth-token=v", "Origin": "http://127.0.0.1:9"}
    request = post_request(host="127.0.0.1", port=9, path="/x", headers=headers, body=b"{}")
    head = request.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert b"Cookie: sb-x-auth-token=v" in head
    assert b"Origin: http://127.0.0.1:9" in head
    assert not any(line.startswith(b"Authorization") for line in head)


class FakeTransport:
    """Enough of a transport for Connection: what it wrote, whether it was aborted."""

    def __init__(self) -> None:
        self.written = b""
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written += data

    def abort(self) -> None:
        self.aborted = True


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"


async def test_exchange_abandoned_at_the_first_answer_byte() -> None:
    connection, transport = Connection(), FakeTransport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    pending = asyncio.create_task(
        connection.exchange(b"GET / HTTP/1.1\r\n\r\n", TextAnswer(), abandon_at_first_byte=True)
    )
    await asyncio.sleep(0)
    connection.data_received(HEAD + b"5\r\nHello\r\n")
    exchange = await pending
    assert exchange.abandoned
    assert not exchange.ended
    assert (exchange.status, exchange.answer_bytes) == (200, 5)
    assert transport.aborted
    assert connection.closed


async def test_a_broken_exchange_carries_what_had_arrived() -> None:
    connection = Connection()
    connection.connection_made(FakeTransport())  # type: ignore[arg-type]
    pending = asyncio.create_task(connection.exchange(b"GET / HTTP/1.1\r\n\r\n", TextAnswer()))
    await asyncio.sleep(0)
    connection.data_received(HEAD + b"5\r\nHello\r\n")
    connection.connection_lost(None)
    with pytest.raises(ResponseBroken) as broken:
        await pending
    assert str(broken.value) == "connection lost"
    partial = broken.value.partial
    assert (partial.status, partial.answer_bytes, partial.ended) == (200, 5, False)
