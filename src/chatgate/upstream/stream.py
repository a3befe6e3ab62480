"""An answer's text, read off the wire as it arrives.

Every provider streams server-sent events; they differ only in what an event
holds and which event ends the answer, which each provider's ``event_text``
knows. An answer whose connection closes before that end is cut off, not
complete: a proxy closing an idle connection looks exactly like that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from functools import partial
from typing import TypeVar

import aiohttp
import orjson

from chatgate.errors import StreamBroken, UpstreamError, UpstreamTimeout
from chatgate.providers.chat import AnswerEnd, EventText, UpstreamCall
from chatgate.providers.events import Event, ReadEvent
from chatgate.redaction import redact
from chatgate.upstream.error_map import FOREIGN_ERRORS, translate
from chatgate.upstream.events import DataLines
from chatgate.upstream.request import UpstreamPolicy, post_for_stream

R = TypeVar("R")
# What one read's payloads became (falsy for nothing the client sees), the
# failure that stopped them, and whether the answer's end was among them.
Decode = Callable[[Sequence[bytes | bytearray]], tuple[R, UpstreamError | None, bool]]


class EndSeen:
    """Set when the read being yielded held the answer's end marker: its piece is
    the last, so the relay can finish the client's response in the same write."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen = False


class NoText(Exception):
    """The text deadline passed (set on the response's reader, so the read fails)."""


class TextDeadline:
    """Fails the answer's next read when no text comes in time.

    Only text (or an error) counts: keep-alive comments, blank lines and
    events without text do not move the deadline, so an upstream cannot hold
    a request open by chattering. Text only stores a time; the timer, when it
    fires, re-arms itself for what is left, so a piece costs no timer."""

    __slots__ = ("_handle", "_idle", "_loop", "_reader", "_window", "last_text")

    def __init__(
        self, reader: aiohttp.StreamReader, *, sent_at: float, policy: UpstreamPolicy
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._reader = reader
        self._window = policy.first_byte_timeout
        self._idle = policy.idle_timeout
        self.last_text = sent_at
        self._handle = self._loop.call_at(sent_at + self._window, self._check)

    def started(self) -> None:
        """The first text arrived: from now on, the idle timeout applies."""
        self._window = self._idle
        self.last_text = self._loop.time()
        self._handle.cancel()  # it may be set for a longer first-byte wait
        self._handle = self._loop.call_at(self.last_text + self._idle, self._check)

    def _check(self) -> None:
        due = self.last_text + self._window
        if self._loop.time() < due:
            self._handle = self._loop.call_at(due, self._check)
        else:
            self._reader.set_exception(NoText())

    def cancel(self) -> None:
        self._handle.cancel()


def stopped_by(exc: Exception, provider_name: str) -> UpstreamError:
    """What a malformed event, or an in-band error event, makes of the answer."""
    failure = (
        UpstreamError(redact(exc.message), status=exc.status)
        if isinstance(exc, UpstreamError)
        else StreamBroken(f"{provider_name} sent a malformed event")
    )
    failure.__cause__ = exc
    return failure


def event_texts(
    payloads: Sequence[bytes | bytearray],
    *,
    event_text: EventText,
    end_marker: bytes | None,
    provider_name: str,
) -> tuple[str, UpstreamError | None, bool]:
    """The text of the events of one read, the failure that stopped them, and
    whether the answer's end was among them."""
    parts: list[str] = []
    ended = False
    for payload in payloads:
        if payload == end_marker:
            ended = True
            continue
        try:
            text = event_text(orjson.loads(payload))
        except AnswerEnd as end:
            text, ended = end.text, True
        except (orjson.JSONDecodeError, UpstreamError) as exc:
            return "".join(parts), stopped_by(exc, provider_name), ended
        if text:
            parts.append(text)
    return "".join(parts), None, ended


def read_events(
    payloads: Sequence[bytes | bytearray],
    *,
    read_event: ReadEvent,
    end_marker: bytes | None,
    provider_name: str,
) -> tuple[list[Event], UpstreamError | None, bool]:
    """The events of one read (see chatgate.providers.events), the failure that
    stopped them, and whether the answer's end was among them."""
    events: list[Event] = []
    ended = False
    for payload in payloads:
        if payload == end_marker:
            ended = True
            continue
        try:
            ended = read_event(orjson.loads(payload), events) or ended
        except (orjson.JSONDecodeError, UpstreamError) as exc:
            return events, stopped_by(exc, provider_name), ended
    return events, None, ended


def stream_text(
    http: aiohttp.ClientSession,
    call: UpstreamCall,
    *,
    policy: UpstreamPolicy,
    provider_name: str,
    end: EndSeen | None = None,
) -> AsyncGenerator[str, None]:
    """The answer's text, one piece per read off the wire."""
    decode = partial(
        event_texts,
        event_text=call.event_text,
        end_marker=call.end_marker,
        provider_name=provider_name,
    )
    return stream_reads(
        http, call, policy=policy, provider_name=provider_name, decode=decode, end=end
    )


async def stream_reads(
    http: aiohttp.ClientSession,
    call: UpstreamCall,
    *,
    policy: UpstreamPolicy,
    provider_name: str,
    decode: Decode[R],
    end: EndSeen | None = None,
) -> AsyncGenerator[R, None]:
    """What ``decode`` makes of each read off the wire: only a read that gives
    something (text, a tool call) keeps the answer's deadline. With ``end``, the
    read that held the answer's end marker is yielded, empty or not, with
    ``end.seen`` set; the reads after it (the rest of the upstream's response)
    are still to be taken, so that the connection goes back to the pool."""
    response, sent_at = await post_for_stream(
        http, call, policy=policy, provider_name=provider_name
    )
    # The answer is over for the client at its end marker, where the wire has one:
    # an OpenAI stream's finish is followed by its usage chunk.
    end_marker = call.end_marker
    # Sent: the request's body (a copy of the conversation) and its headers (the key)
    # need not stay in memory for as long as the answer streams.
    del call
    reader = response.content
    deadline = TextDeadline(reader, sent_at=sent_at, policy=policy)
    if response.connection is not None and response.connection.protocol is not None:
        # The deadline above keeps time now; aiohttp's own per-read timer would
        # only be re-armed by every keep-alive. Restarted without a timeout, the
        # timer armed by the last read goes at once, not at the next read.
        protocol = response.connection.protocol
        protocol.read_timeout = None
        protocol.start_timeout()
    lines = DataLines(provider_name)
    loop = asyncio.get_running_loop()
    started = ended = False
    try:
        while True:
            try:
                data = await reader.readany()
            except NoText:
                if ended:
                    break  # the answer is whole; only the connection lingers
                raise UpstreamTimeout(
                    provider_name, "stalled mid-answer" if started else "no response"
                ) from None
            except FOREIGN_ERRORS as exc:
                if ended:
                    break
                raise translate(exc, provider_name=provider_name, answering=True) from exc
            at_eof = not data
            payloads = lines.end() if at_eof else lines.feed(data)
            item, failure, end_seen = decode(payloads)
            ended = ended or end_seen
            last = ended and (end_marker is None or end_marker in payloads)
            # The wait for the next read may be long: this one's bytes are not kept meanwhile.
            del data, payloads
            if item:
                if started:
                    deadline.last_text = loop.time()
                else:
                    started = True
                    deadline.started()
            if last and end is not None and not end.seen:
                # The answer's last read, even one with nothing to show (the end
                # marker alone): with it, the relay ends the client's response.
                end.seen = True
                yield item
            elif item:
                yield item
            if failure is not None:
                raise failure
            if at_eof:
                break
        if not ended:
            raise StreamBroken(
                f"{provider_name} closed the connection before the end of the answer"
                if started
                else f"{provider_name} closed the connection before answering"
            )
    finally:
        deadline.cancel()
        if reader.is_eof():
            response.release()  # a finished answer: the connection goes back to the pool
        else:
            response.close()  # an unfinished one must stop the upstream, not be drained
