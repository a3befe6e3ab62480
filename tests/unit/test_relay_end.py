"""The answer's last text and the response's end leave together: the relay
finishes the response with the piece that came with the upstream's end marker,
and still reads out what is left of the upstream's response."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from chatgate.upstream import EndSeen
from chatgate.web.relay import StreamAborted, relay_text


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)

    def bodies(self) -> list[tuple[bytes, bool]]:
        return [
            (m["body"], m.get("more_body", False))
            for m in self.messages
            if m["type"] == "http.response.body"
        ]


async def answer(
    end: EndSeen, pieces: list[str], *, end_with_last: bool, after: list[str]
) -> AsyncGenerator[str, None]:
    """Pieces as the upstream reader yields them: the end comes with the last
    piece, or in a read of its own (an empty piece); ``after``: what it reads
    past the end (the rest of the response), recorded as read."""
    for number, piece in enumerate(pieces):
        if end_with_last and number == len(pieces) - 1:
            end.seen = True
        yield piece
    if not end_with_last:
        end.seen = True
        yield ""
    after.append("read out")


async def test_the_last_piece_ends_the_response_in_the_same_message() -> None:
    end, sent, after = EndSeen(), Sent(), list[str]()
    await relay_text(sent, answer(end, ["Hello", " world"], end_with_last=True, after=after), end)
    assert sent.bodies() == [(b"Hello", True), (b" world", False)]
    assert after == ["read out"]  # the upstream's connection can go back to its pool


async def test_a_one_piece_answer_is_one_message() -> None:
    end, sent, after = EndSeen(), Sent(), list[str]()
    await relay_text(sent, answer(end, ["Hi!"], end_with_last=True, after=after), end)
    assert [m["type"] for m in sent.messages] == ["http.response.start", "http.response.body"]
    assert sent.bodies() == [(b"Hi!", False)]


async def test_an_end_marker_in_a_read_of_its_own_ends_the_response_after() -> None:
    end, sent, after = EndSeen(), Sent(), list[str]()
    await relay_text(sent, answer(end, ["Hello", " world"], end_with_last=False, after=after), end)
    assert sent.bodies() == [(b"Hello", True), (b" world", True), (b"", False)]


async def test_an_empty_answer_ends_at_its_end_marker() -> None:
    end, sent, after = EndSeen(), Sent(), list[str]()
    await relay_text(sent, answer(end, [], end_with_last=False, after=after), end)
    assert sent.bodies() == [(b"", False)]
    assert after == ["read out"]


async def test_a_failure_before_the_end_breaks_the_stream_and_after_it_does_not() -> None:
    async def failing(end: EndSeen, *, ended: bool) -> AsyncGenerator[str, None]:
        yield "Hello"
        end.seen = ended
        yield " world"
        raise RuntimeError("the upstream's connection broke")

    end, sent = EndSeen(), Sent()
    with pytest.raises(StreamAborted):
        await relay_text(sent, failing(end, ended=False), end)
    assert sent.bodies()[-1] == (b" world", True)  # left unfinished: the client sees a break

    end, sent = EndSeen(), Sent()
    await relay_text(sent, failing(end, ended=True), end)
    assert sent.bodies()[-1] == (b" world", False)  # whole, and delivered as such
