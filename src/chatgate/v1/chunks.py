"""Answers rendered as OpenAI renders them: ``chat.completion.chunk`` events
(relayed as they come from an OpenAI-compatible provider, or written from the
events of any other), and the one ``chat.completion`` of a request that did
not stream."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from chatgate.errors import StreamBroken, UpstreamError
from chatgate.providers.events import ChoiceText, Event, Finish, ReadEvent, ToolCallPart, Usage
from chatgate.redaction import redact
from chatgate.usage.meter import UsageMeter

DONE = b"data: [DONE]\n\n"


def usage_object(usage: Usage) -> dict[str, Any]:
    counted: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        counted["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    return counted


class Tally:
    """What the answer came to, for the ledger and the last chunks: how each
    choice finished, and the usage."""

    __slots__ = ("finishes", "meter", "tool_calls", "usage")

    def __init__(self, meter: UsageMeter | None = None) -> None:
        self.finishes: dict[int, str] = {}
        self.tool_calls: set[int] = set()  # the choices that called a tool
        self.usage: Usage | None = None
        self.meter = meter

    def count(self, events: list[Event]) -> None:
        if self.meter is not None:
            self.meter.count_events(events)
        for event in events:
            if isinstance(event, str):
                continue
            if isinstance(event, ToolCallPart):
                self.tool_calls.add(event.choice)
            elif isinstance(event, Finish):
                self.finishes[event.choice] = event.reason
            elif isinstance(event, Usage):
                self.usage = event

    def finish_reason(self, choice: int = 0) -> str:
        """``tool_calls`` whenever the choice streamed a tool call, whatever the provider said."""
        return "tool_calls" if choice in self.tool_calls else self.finishes.get(choice, "stop")


class ChunkRelay:
    """An OpenAI-compatible provider's chunks, relayed as they come with
    ``model`` set to the name the client asked for; a usage chunk the client
    did not ask for (chatgate asks for it itself) is kept back."""

    __slots__ = (
        "end_marker",
        "include_usage",
        "model",
        "model_field",
        "provider_name",
        "read_event",
        "tally",
        "upstream_model",
        "upstream_model_field",
    )

    def __init__(
        self,
        *,
        model: str,
        include_usage: bool,
        read_event: ReadEvent,
        end_marker: bytes | None,
        provider_name: str,
        meter: UsageMeter | None,
    ) -> None:
        self.model = model
        self.model_field = b'"model":' + orjson.dumps(model)
        # The upstream's name for the model, the same in every chunk: encoded once.
        self.upstream_model: str | None = None
        self.upstream_model_field = b""
        self.include_usage = include_usage
        self.read_event = read_event
        self.end_marker = end_marker
        self.provider_name = provider_name
        self.tally = Tally(meter)

    def __call__(
        self, payloads: Sequence[bytes | bytearray]
    ) -> tuple[bytes, UpstreamError | None, bool]:
        out = bytearray()
        ended = False
        for payload in payloads:
            if payload == self.end_marker:
                ended = True
                continue
            events: list[Event] = []
            try:
                chunk = orjson.loads(payload)
                ended = self.read_event(chunk, events) or ended
            except orjson.JSONDecodeError as exc:
                failure: UpstreamError = StreamBroken(
                    f"{self.provider_name} sent a malformed event"
                )
                failure.__cause__ = exc
                return bytes(out), failure, ended
            except UpstreamError as exc:
                failure = UpstreamError(redact(exc.message), status=exc.status)
                failure.__cause__ = exc
                return bytes(out), failure, ended
            self.tally.count(events)
            if not isinstance(chunk, dict):
                continue
            if not self.include_usage and chunk.get("choices") == [] and "usage" in chunk:
                continue
            out += b"data: "
            out += self.renamed(payload, chunk)
            out += b"\n\n"
        return bytes(out), None, ended

    def renamed(self, payload: bytes | bytearray, chunk: dict[str, Any]) -> bytes:
        """The chunk with ``model`` the client's name: its bytes with the name swapped
        where the upstream wrote it compactly (a quote inside a JSON string is
        escaped, so ``"model":"..."`` is the key itself), else re-encoded."""
        upstream_model = chunk.get("model")
        if isinstance(upstream_model, str):
            if upstream_model != self.upstream_model:
                self.upstream_model = upstream_model
                self.upstream_model_field = b'"model":' + orjson.dumps(upstream_model)
            written = self.upstream_model_field
            if payload.count(written) == 1:
                return bytes(payload).replace(written, self.model_field)
        chunk["model"] = self.model
        return orjson.dumps(chunk)

    def close(self) -> bytes:
        return DONE


class ChunkWriter:
    """``chat.completion.chunk`` events written from the events of a provider
    that does not speak OpenAI's wire format, each choice under its index."""

    __slots__ = ("completion_id", "created", "include_usage", "model", "started", "tally")

    def __init__(
        self,
        *,
        model: str,
        completion_id: str,
        include_usage: bool,
        meter: UsageMeter | None,
    ) -> None:
        self.model = model
        self.completion_id = completion_id
        self.created = int(time.time())
        self.include_usage = include_usage
        self.started: set[int] = set()  # the choices whose first delta went out
        self.tally = Tally(meter)

    def chunk(self, delta: dict[str, Any], finish: str | None = None, choice: int = 0) -> bytes:
        delta = delta if choice in self.started else self.first_delta(delta, choice)
        event = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": choice, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
        }
        return b"data: " + orjson.dumps(event) + b"\n\n"

    def render(self, events: list[Event]) -> bytes:
        self.tally.count(events)
        out = bytearray()
        for event in events:
            if isinstance(event, str):
                out += self.chunk({"content": event})
            elif isinstance(event, ChoiceText):
                out += self.chunk({"content": event.text}, choice=event.choice)
            elif isinstance(event, ToolCallPart):
                delta = {"tool_calls": [tool_call_delta(event)]}
                out += self.chunk(delta, choice=event.choice)
        return bytes(out)

    def first_delta(self, delta: dict[str, Any], choice: int) -> dict[str, Any]:
        self.started.add(choice)
        return {"role": "assistant", **delta}

    def close(self) -> bytes:
        tally = self.tally
        choices = sorted({0, *self.started, *tally.finishes})
        out = b"".join(self.chunk({}, tally.finish_reason(c), choice=c) for c in choices)
        if self.include_usage and self.tally.usage is not None:
            usage = {
                "id": self.completion_id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": usage_object(self.tally.usage),
            }
            out += b"data: " + orjson.dumps(usage) + b"\n\n"
        return out + DONE


def tool_call_delta(part: ToolCallPart) -> dict[str, Any]:
    delta: dict[str, Any] = {"index": part.index}
    function: dict[str, Any] = {"arguments": part.arguments}
    if part.id is not None:
        delta["id"] = part.id
        delta["type"] = "function"
    if part.name is not None:
        function["name"] = part.name
    delta["function"] = function
    return delta


def completion(*, model: str, completion_id: str, events: list[Event]) -> dict[str, Any]:
    """The one ``chat.completion`` object of an answer that was not streamed:
    each choice assembled from its own events, the usage once."""
    tally = Tally()
    tally.count(events)
    texts: dict[int, list[str]] = {0: []}
    calls: dict[int, dict[int, dict[str, Any]]] = {}  # choice -> tool call index -> call
    for event in events:
        if isinstance(event, str):
            texts[0].append(event)
        elif isinstance(event, ChoiceText):
            texts.setdefault(event.choice, []).append(event.text)
        elif isinstance(event, ToolCallPart):
            call = calls.setdefault(event.choice, {}).setdefault(
                event.index,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if event.id is not None:
                call["id"] = event.id
            if event.name is not None:
                call["function"]["name"] = event.name
            call["function"]["arguments"] += event.arguments
    choices = [
        {
            "index": choice,
            "message": message("".join(texts.get(choice, ())), calls.get(choice, {})),
            "logprobs": None,
            "finish_reason": tally.finish_reason(choice),
        }
        for choice in sorted({*texts, *calls, *tally.finishes})
    ]
    answer: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if tally.usage is not None:
        answer["usage"] = usage_object(tally.usage)
    return answer


def message(text: str, calls: dict[int, dict[str, Any]]) -> dict[str, Any]:
    written: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        written["tool_calls"] = [calls[index] for index in sorted(calls)]
    return written
