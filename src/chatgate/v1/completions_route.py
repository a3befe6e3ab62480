"""POST /v1/chat/completions: OpenAI's chat completions over every provider.

A plain ASGI endpoint, as the Chatbot UI chat routes are: the credential, the
rate limit, the body within the chat body's bound, then the answer, streamed
as server-sent events or sent as one ``chat.completion``. Every error is in
OpenAI's shape; after the stream started, as one ``data: {"error": ...}``
event, and the stream ends without ``[DONE]``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncGenerator, Awaitable
from contextlib import aclosing

import orjson
from starlette.types import Receive, Scope, Send

from chatgate.errors import ChatgateError
from chatgate.identities import Identity
from chatgate.providers.events import Event
from chatgate.runtime import Runtime
from chatgate.upstream import EndSeen
from chatgate.usage.meter import UsageMeter
from chatgate.v1.chunks import ChunkRelay, ChunkWriter, completion
from chatgate.v1.completion import StreamedAnswer, answer_events, stream_chunks
from chatgate.v1.errors import openai_error_event
from chatgate.v1.request import CompletionRequest, parse_completion_request
from chatgate.web.admission import admit, meter_for
from chatgate.web.credentials import Credentials
from chatgate.web.outcome import Answering
from chatgate.web.relay import StreamAborted, until_disconnect

log = logging.getLogger(__name__)

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
JSON_HEADERS = [(b"content-type", b"application/json")]


class CompletionsEndpoint:
    def __init__(self, runtime: Runtime, *, credentials: Credentials) -> None:
        self.runtime = runtime
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        async with Answering(runtime, scope, receive, send, what="chat completion") as answering:
            identity, raw = await admit(runtime, self.credentials, scope, receive)
            request = parse_completion_request(raw)
            async with runtime.limiter.stream_slot(identity.owner.user_id, answering.request_id):
                answering.meter = meter = meter_for(
                    scope, identity, provider="", model=request.model, messages=request.messages
                )
                relay, end = await self.answer(send, identity, request, meter)
                # The request, raw and parsed, is up to CHATGATE_MAX_BODY_BYTES of conversation
                # (and images): it is not held for as long as the answer streams.
                del raw, request
                with runtime.metrics.active_answers.track_inprogress():
                    await until_disconnect(receive, relay, end)
            answering.complete()

    async def answer(
        self, send: Send, identity: Identity, request: CompletionRequest, meter: UsageMeter
    ) -> tuple[Awaitable[None], EndSeen | None]:
        """What sends the answer, its upstream call prepared (made at its first read),
        and for a stream, what tells when the answer's end was seen."""
        runtime = self.runtime
        completion_id = "chatcmpl-" + secrets.token_urlsafe(18)
        if request.stream:
            answer = await stream_chunks(
                runtime,
                identity=identity,
                request=request,
                completion_id=completion_id,
                meter=meter,
            )
            return relay_chunks(send, answer), answer.end
        reads = await answer_events(runtime, identity=identity, request=request, meter=meter)
        sent = send_completion(send, reads, model=request.model, completion_id=completion_id)
        return sent, None


async def send_completion(
    send: Send, reads: AsyncGenerator[list[Event], None], *, model: str, completion_id: str
) -> None:
    """The answer as one ``chat.completion``, once it is whole."""
    events = await collect(reads)
    body = completion(model=model, completion_id=completion_id, events=events)
    await send({"type": "http.response.start", "status": 200, "headers": list(JSON_HEADERS)})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


async def collect(reads: AsyncGenerator[list[Event], None]) -> list[Event]:
    events: list[Event] = []
    async with aclosing(reads):
        async for read in reads:
            events.extend(read)
    return events


async def relay_chunks(send: Send, answer: StreamedAnswer) -> None:
    """The chunks as server-sent events. The first read is awaited before the
    status goes out, so an upstream that fails early is a real HTTP error; the
    chunks of the read that held the answer's end go out with the stream's end,
    in one write."""
    chunks, end, renderer = answer.chunks, answer.end, answer.renderer
    more = True
    async with aclosing(chunks):
        first = await anext(chunks, b"")
        await send({"type": "http.response.start", "status": 200, "headers": list(SSE_HEADERS)})
        try:
            if first or end.seen:
                more = await send_chunks(send, first, end=end, renderer=renderer)
            async for chunk in chunks:
                if more:
                    more = await send_chunks(send, chunk, end=end, renderer=renderer)
                # Past the end, the upstream's response is only read out, for its connection.
        except ChatgateError as exc:
            if not more:
                return  # the answer was whole and is delivered; the rest does not matter
            await send({"type": "http.response.body", "body": openai_error_event(exc)})
            raise StreamAborted(exc.message) from exc
    if more:  # the end marker came in a read of its own
        await send({"type": "http.response.body", "body": renderer.close()})


async def send_chunks(
    send: Send, chunks: bytes, *, end: EndSeen, renderer: ChunkRelay | ChunkWriter
) -> bool:
    """One read's chunks; with the answer's end among them, the stream's end too.
    Whether more is to come."""
    if end.seen:
        await send({"type": "http.response.body", "body": chunks + renderer.close()})
        return False
    await send({"type": "http.response.body", "body": chunks, "more_body": True})
    return True
