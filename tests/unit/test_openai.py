"""OpenAI's wire format, shared by the OpenAI-compatible providers and Azure."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from chatgate.errors import UpstreamError
from chatgate.providers import openai
from chatgate.providers.chat import Access, AnswerEnd, ChatRequest
from chatgate.providers.events import ChoiceText, Event, Finish, ToolCallPart, Usage

MESSAGES = [{"role": "user", "content": "Hi"}]


def sent(model: str, temperature: float | None = 0.4) -> Any:
    chat = ChatRequest(model=model, temperature=temperature, messages=MESSAGES)
    access = Access(api_key=SecretStr("k-unit-0001"), base_url="https://api.example/v1")
    return orjson.loads(openai.build_compatible_call(chat, access).body)


@pytest.mark.parametrize(
    ("model", "limits"),
    [
        ("mistral-large-latest", {"temperature": 0.4, "max_tokens": 16000}),
        ("mistral-tiny", {"temperature": 0.4, "max_tokens": 2000}),
        ("llama3-70b-8192", {"temperature": 0.4, "max_tokens": 8192}),
        ("mixtral-8x7b-32768", {"temperature": 0.4, "max_tokens": 4096}),
        ("sonar-pro", {"temperature": 0.4}),
        ("anthropic/claude-3.5-sonnet", {"temperature": 0.4}),
        ("o3-mini", {}),
    ],
)
def test_output_limit_and_temperature_follow_the_model_table(
    model: str, limits: dict[str, float]
) -> None:
    body = sent(model)
    assert body == {"model": model, "messages": MESSAGES, **limits, "stream": True}


def test_compatible_call_sends_the_key_as_bearer_and_no_key_as_nothing() -> None:
    chat = ChatRequest(model="m", temperature=None, messages=MESSAGES)
    keyed = openai.build_compatible_call(
        chat, Access(api_key=SecretStr("k-1"), base_url="http://h/v1")
    )
    assert keyed.url == "http://h/v1/chat/completions"
    assert keyed.headers["Authorization"] == "Bearer k-1"
    keyless = openai.build_compatible_call(chat, Access(api_key=None, base_url="http://h/v1"))
    assert "Authorization" not in keyless.headers
    assert keyed.key_rejected(401, "Unauthorized", None)
    assert not keyed.key_rejected(403, "Forbidden", None)


def test_openai_sends_the_organization_and_knows_its_own_wrong_key_answer() -> None:
    chat = ChatRequest(model="gpt-4o", temperature=None, messages=MESSAGES)
    access = Access(
        api_key=SecretStr("sk-1"),
        base_url="https://api.openai.com/v1",
        profile={"openai_organization_id": "org-1"},
    )
    call = openai.build_call(chat, access)
    assert call.headers["OpenAI-Organization"] == "org-1"
    assert call.key_rejected(401, "Incorrect API key provided: sk-1***", "invalid_api_key")
    assert not call.key_rejected(401, "You must be a member of an organization", "no_organization")


def test_delta_text_reads_content_and_skips_chunks_without_it() -> None:
    def chunk(delta: dict[str, Any]) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}

    assert openai.delta_text(chunk({"content": "Hi"})) == "Hi"
    assert openai.delta_text(chunk({"role": "assistant", "content": ""})) == ""
    assert openai.delta_text(chunk({})) == ""
    # Azure's content-filter results come with no choices at all.
    assert openai.delta_text({"choices": [], "prompt_filter_results": [{"prompt_index": 0}]}) == ""
    assert openai.delta_text({"choices": [], "usage": {"total_tokens": 3}}) == ""


@pytest.mark.parametrize(("content", "reason"), [("", "stop"), ("last", "length"), (None, "stop")])
def test_a_chunk_with_a_finish_reason_ends_the_answer(content: str | None, reason: str) -> None:
    event = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": reason}]}
    with pytest.raises(AnswerEnd) as ended:
        openai.delta_text(event)
    assert ended.value.text == (content or "")


@pytest.mark.parametrize(
    "event",
    [
        {"error": {"message": "The server had an error", "type": "server_error"}},
        # OpenRouter's in-band error carries an empty choice besides the error.
        {
            "error": {"code": 502, "message": "The server had an error"},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        },
    ],
)
def test_in_band_errors_raise(event: dict[str, Any]) -> None:
    with pytest.raises(UpstreamError, match="The server had an error"):
        openai.delta_text(event)


def test_read_chunk_reads_each_choice_and_the_usage() -> None:
    events: list[Event] = []
    chunk = {
        "choices": [
            {"index": 0, "delta": {"content": "Hi"}, "finish_reason": None},
            {"index": 1, "delta": {"content": "Hello"}, "finish_reason": None},
        ]
    }
    assert openai.read_chunk(chunk, events) is False
    assert events == ["Hi", ChoiceText(1, "Hello")]
    last = {
        "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    assert openai.read_chunk(last, events) is True
    assert events[2:] == [Finish("length"), Usage(3, 4)]


def test_an_answer_of_several_choices_ends_when_each_has_finished() -> None:
    read, events = openai.chunk_reader(2), list[Event]()

    def finish(index: int) -> dict[str, Any]:
        return {"choices": [{"index": index, "delta": {}, "finish_reason": "stop"}]}

    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}
    tool = {"choices": [{"index": 1, "delta": {"tool_calls": [call]}, "finish_reason": None}]}
    assert read(tool, events) is False
    assert read(finish(1), events) is False  # choice 0 is still being written
    assert read(finish(1), events) is False
    assert read(finish(0), events) is True
    assert events == [
        ToolCallPart(index=0, id="call_1", name="f", choice=1),
        Finish("stop", choice=1),
        Finish("stop", choice=1),
        Finish("stop"),
    ]
    assert openai.chunk_reader(1) is openai.read_chunk


def test_read_chunk_reads_groqs_usage() -> None:
    events: list[Event] = []
    chunk = {"choices": [], "x_groq": {"usage": {"prompt_tokens": 7, "completion_tokens": 2}}}
    openai.read_chunk(chunk, events)
    assert events == [Usage(7, 2)]
