import orjson
import pytest

from bench.client import EventStreamAnswer, TextAnswer, post_request


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
    request = post_request(host="127.0.0.1", port=9, path="/x", token="t", body=b'{"a":1}')
    head, body = request.split(b"\r\n\r\n")
    assert head.startswith(b"POST /x HTTP/1.1\r\n")
    assert b"Authorization: Bearer t" in head
    assert b"Content-Length: 7" in head
    assert body == b'{"a":1}'
