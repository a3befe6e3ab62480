"""OpenAI-compatible chunks relayed with the client's model name."""

from __future__ import annotations

import orjson

from chatgate.providers import openai
from chatgate.providers.events import ChoiceText, Event, Finish, ToolCallPart
from chatgate.v1.chunks import ChunkRelay, ChunkWriter


def relay(include_usage: bool = False) -> ChunkRelay:
    return ChunkRelay(
        model="openai/gpt-4o",
        include_usage=include_usage,
        read_event=openai.read_chunk,
        end_marker=b"[DONE]",
        provider_name="OpenAI",
        meter=None,
    )


def events_of(sent: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line[6:]) for line in sent.split(b"\n\n") if line]


def test_the_model_is_renamed_and_text_that_quotes_a_model_is_left_alone() -> None:
    text = 'say "model":"gpt-4o" please'
    compact = orjson.dumps(
        {"model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": text}}]}
    )
    spaced = b'{"model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}'
    sent, failure, ended = relay()([compact, spaced])
    assert (failure, ended) == (None, False)
    first, second = events_of(sent)
    assert first == {
        "model": "openai/gpt-4o",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }
    assert second["model"] == "openai/gpt-4o"


def test_the_usage_chunk_is_kept_from_a_client_that_did_not_ask() -> None:
    usage = b'{"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}'
    quiet, loud = relay(), relay(include_usage=True)
    assert quiet([usage, b"[DONE]"])[0] == b""
    assert quiet.tally.usage is not None
    assert events_of(loud([usage])[0])[0]["usage"] == {"prompt_tokens": 1, "completion_tokens": 2}


def test_written_chunks_keep_each_choice_under_its_index() -> None:
    writer = ChunkWriter(model="m", completion_id="c", include_usage=False, meter=None)
    events: list[Event] = [
        "Hi",
        ChoiceText(1, "Yo"),
        "!",
        ToolCallPart(index=0, id="call_1", name="f", choice=1),
        Finish("length"),
    ]
    sent = writer.render(events) + writer.close()
    assert sent.endswith(b"data: [DONE]\n\n")
    written = [
        (choice["index"], choice["delta"], choice["finish_reason"])
        for event in events_of(sent.removesuffix(b"data: [DONE]\n\n"))
        for choice in event["choices"]  # type: ignore[attr-defined]
    ]
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"arguments": "", "name": "f"},
    }
    assert written == [
        (0, {"role": "assistant", "content": "Hi"}, None),
        (1, {"role": "assistant", "content": "Yo"}, None),
        (0, {"content": "!"}, None),
        (1, {"tool_calls": [call]}, None),
        (0, {}, "length"),
        (1, {}, "tool_calls"),
    ]
