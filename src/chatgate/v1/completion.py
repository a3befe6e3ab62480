"""The /v1 chat completion use case: the model name resolved, the caller's
access to its provider, and the upstream answer read through the event model
into what the client receives (chunks, or the events of one completion)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace
from functools import partial

from chatgate.chat import resolve_access
from chatgate.errors import UpstreamError
from chatgate.identities import Identity
from chatgate.providers import openai
from chatgate.providers.chat import ChatRequest, UpstreamCall
from chatgate.providers.events import Event, ReadEvent
from chatgate.runtime import Runtime
from chatgate.upstream import Decode, EndSeen, read_events, stream_reads
from chatgate.usage.meter import UsageMeter
from chatgate.v1.chunks import ChunkRelay, ChunkWriter, Tally
from chatgate.v1.names import ModelChoice, resolve_model
from chatgate.v1.request import CompletionRequest

# Those known to accept stream_options.include_usage: chatgate asks them for usage itself.
ASKS_USAGE = frozenset({"openai", "azure", "groq", "openrouter"})


@dataclass(frozen=True, slots=True)
class PreparedCall:
    choice: ModelChoice
    call: UpstreamCall
    read_event: ReadEvent
    passed_on: bool


async def prepare_call(
    runtime: Runtime, *, identity: Identity, request: CompletionRequest, meter: UsageMeter | None
) -> PreparedCall:
    """The upstream call; from the moment it is made, the meter counts the request."""
    choice = await resolve_model(runtime, identity=identity, name=request.model)
    provider = choice.provider
    chat = ChatRequest(
        model=choice.model,
        temperature=None,
        messages=request.messages,
        custom_model_id=choice.custom_model_id,
    )
    chat, access = await resolve_access(runtime, identity=identity, provider=provider, chat=chat)
    if provider.translate is not None:
        translated = provider.translate(request.body, chat.model, access)
        prepared = PreparedCall(choice, translated.call, translated.read_event, passed_on=False)
    else:
        call = provider.build_call(chat, access)
        ask_usage = request.include_usage or provider.name in ASKS_USAGE
        body = openai.passed_on_body(request.body, model=chat.model, ask_usage=ask_usage)
        read_event = openai.chunk_reader(request.choices)
        prepared = PreparedCall(choice, replace(call, body=body), read_event, passed_on=True)
    if meter is not None:
        meter.info.provider = provider.name
        meter.metered_call(prepared.call, model=chat.model)
    return prepared


@dataclass(slots=True)
class StreamedAnswer:
    chunks: AsyncGenerator[bytes, None]
    renderer: ChunkRelay | ChunkWriter
    end: EndSeen  # set with the chunks of the read that held the answer's end

    @property
    def tally(self) -> Tally:
        return self.renderer.tally


async def stream_chunks(
    runtime: Runtime,
    *,
    identity: Identity,
    request: CompletionRequest,
    completion_id: str,
    meter: UsageMeter | None = None,
) -> StreamedAnswer:
    """The answer as ``chat.completion.chunk`` events, a read's worth at a time;
    ``renderer.close()`` is what ends the stream."""
    prepared = await prepare_call(runtime, identity=identity, request=request, meter=meter)
    name = prepared.choice.provider.display_name
    call = prepared.call
    renderer: ChunkRelay | ChunkWriter
    if prepared.passed_on:
        renderer = ChunkRelay(
            model=request.model,
            include_usage=request.include_usage,
            read_event=prepared.read_event,
            end_marker=call.end_marker,
            provider_name=name,
            meter=meter,
        )
        decode: Decode[bytes] = renderer
    else:
        writer = ChunkWriter(
            model=request.model,
            completion_id=completion_id,
            include_usage=request.include_usage,
            meter=meter,
        )
        events_of = partial(
            read_events,
            read_event=prepared.read_event,
            end_marker=call.end_marker,
            provider_name=name,
        )

        def write_chunks(
            payloads: Sequence[bytes | bytearray],
        ) -> tuple[bytes, UpstreamError | None, bool]:
            events, failure, ended = events_of(payloads)
            return writer.render(events), failure, ended

        decode = write_chunks
        renderer = writer
    end = EndSeen()
    chunks = stream_reads(
        runtime.http, call, policy=runtime.policy, provider_name=name, decode=decode, end=end
    )
    return StreamedAnswer(chunks=chunks, renderer=renderer, end=end)


async def answer_events(
    runtime: Runtime,
    *,
    identity: Identity,
    request: CompletionRequest,
    meter: UsageMeter | None = None,
) -> AsyncGenerator[list[Event], None]:
    """The answer's events, a read's worth at a time, for one ``chat.completion``."""
    prepared = await prepare_call(runtime, identity=identity, request=request, meter=meter)
    name = prepared.choice.provider.display_name
    events_of = partial(
        read_events,
        read_event=prepared.read_event,
        end_marker=prepared.call.end_marker,
        provider_name=name,
    )

    def decode(
        payloads: Sequence[bytes | bytearray],
    ) -> tuple[list[Event], UpstreamError | None, bool]:
        events, failure, ended = events_of(payloads)
        if meter is not None:
            meter.count_events(events)
        return events, failure, ended

    return stream_reads(
        runtime.http, prepared.call, policy=runtime.policy, provider_name=name, decode=decode
    )
