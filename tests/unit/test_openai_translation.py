"""OpenAI requests in Anthropic's and Gemini's formats: the cases a client can get wrong
or that need merging."""

from __future__ import annotations

from typing import Any

import pytest

from chatgate.errors import BadRequest, InvalidField
from chatgate.providers import anthropic_openai, google_openai
from chatgate.providers.events import Event, Finish, ToolCallPart, Usage


def call(call_id: str, arguments: str = '{"city": "Paris"}') -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


TWO_CALLS: list[dict[str, Any]] = [
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {"role": "assistant", "content": None, "tool_calls": [call("a"), call("b")]},
    {"role": "tool", "tool_call_id": "a", "content": "Sunny"},
    {"role": "tool", "tool_call_id": "b", "content": "Rainy"},
]


def test_anthropic_tool_results_of_one_turn_are_one_user_message() -> None:
    body = {"messages": TWO_CALLS, "parallel_tool_calls": False, "tools": []}
    payload = anthropic_openai.translate_request(body, "claude-sonnet-4-5")
    assert [turn["role"] for turn in payload["messages"]] == ["user", "assistant", "user"]
    assert [block["tool_use_id"] for block in payload["messages"][2]["content"]] == ["a", "b"]
    assert payload["max_tokens"] == 4096


def test_anthropic_parallel_tool_calls_off() -> None:
    tool = {"type": "function", "function": {"name": "get_weather"}}
    body = {"messages": TWO_CALLS[:1], "tools": [tool], "parallel_tool_calls": False}
    payload = anthropic_openai.translate_request(body, "claude-sonnet-4-5")
    assert payload["tools"] == [{"name": "get_weather", "input_schema": {"type": "object"}}]
    assert payload["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_tool_call_arguments_that_are_no_json_are_a_bad_request() -> None:
    messages = [TWO_CALLS[0], {"role": "assistant", "tool_calls": [call("a", "{nope")]}]
    with pytest.raises(BadRequest, match="not JSON"):
        anthropic_openai.translate_request({"messages": messages}, "claude-sonnet-4-5")
    with pytest.raises(BadRequest, match="not JSON"):
        google_openai.translate_request({"messages": messages}, "gemini-2.5-flash")


def test_gemini_tool_result_for_no_known_call_is_a_bad_request() -> None:
    messages = [TWO_CALLS[0], {"role": "tool", "tool_call_id": "zzz", "content": "Sunny"}]
    with pytest.raises(BadRequest, match="tool_call_id"):
        google_openai.translate_request({"messages": messages}, "gemini-2.5-flash")


def test_gemini_function_results_are_one_user_turn_named_after_their_calls() -> None:
    payload = google_openai.translate_request({"messages": TWO_CALLS}, "gemini-2.5-flash")
    assert [turn["role"] for turn in payload["contents"]] == ["user", "model", "user"]
    assert payload["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"content": "Sunny"}}},
        {"functionResponse": {"name": "get_weather", "response": {"content": "Rainy"}}},
    ]


def test_anthropic_output_tokens_are_a_running_total() -> None:
    read = anthropic_openai.AnthropicEvents()
    events: list[Event] = []
    read({"type": "message_start", "message": {"usage": {"input_tokens": 8}}}, events)
    for total in (3, 9):
        read({"type": "message_delta", "delta": {}, "usage": {"output_tokens": total}}, events)
    assert events[-1] == Usage(8, 9)


def test_anthropic_tool_indexes_count_from_zero_whatever_the_block_index() -> None:
    read = anthropic_openai.AnthropicEvents()
    events: list[Event] = []
    block = {"type": "tool_use", "id": "toolu_1", "name": "f"}
    read({"type": "content_block_start", "index": 2, "content_block": block}, events)
    delta = {"type": "input_json_delta", "partial_json": "{}"}
    read({"type": "content_block_delta", "index": 2, "delta": delta}, events)
    read({"type": "message_delta", "delta": {"stop_reason": "tool_use"}}, events)
    assert events == [
        ToolCallPart(index=0, id="toolu_1", name="f"),
        ToolCallPart(index=0, arguments="{}"),
        Finish("tool_calls"),
    ]


ASK = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "no_schema"}},
        {"type": "yaml"},
        "json",
    ],
)
def test_anthropic_refuses_json_it_cannot_promise(response_format: Any) -> None:
    body = {"messages": ASK, "response_format": response_format}
    with pytest.raises(InvalidField) as refused:
        anthropic_openai.translate_request(body, "claude-sonnet-4-5")
    assert refused.value.param == "response_format"


@pytest.mark.parametrize(
    ("response_format", "config"),
    [
        ({"type": "text"}, {}),
        ({"type": "json_object"}, {"responseMimeType": "application/json"}),
        (
            {"type": "json_schema", "json_schema": {"name": "no_schema"}},
            {"responseMimeType": "application/json"},
        ),
    ],
)
def test_gemini_response_formats(response_format: Any, config: dict[str, Any]) -> None:
    body = {"messages": ASK, "response_format": response_format}
    payload = google_openai.translate_request(body, "gemini-2.0-flash")
    assert payload.get("generationConfig", {}) == config


@pytest.mark.parametrize(
    "translate", [anthropic_openai.translate_request, google_openai.translate_request]
)
def test_more_than_one_choice_is_refused(translate: Any) -> None:
    translate({"messages": ASK, "n": 1}, "m")
    with pytest.raises(InvalidField) as refused:
        translate({"messages": ASK, "n": 2}, "m")
    assert refused.value.param == "n"
