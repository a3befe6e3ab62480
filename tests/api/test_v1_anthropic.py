"""/v1 over Anthropic: OpenAI's requests translated to the messages API and its
events back into OpenAI's chunks, seen through the openai SDK."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

from chatgate.fake import reply_pieces
from tests.api.conftest import Gate
from tests.api.test_v1 import WEATHER_TOOL, ask, sdk

FULL_ANSWER = "".join(reply_pieces(12))
MODEL = "anthropic/claude-sonnet-4-5"


async def test_streamed_answer_with_usage(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0001")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=ask("#fake cached=4"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == FULL_ANSWER
    assert {c.model for c in chunks} == {MODEL}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage is not None
    # input 10 + cache writes 3 + cache reads 4; output is the last running total.
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (17, 12, 29)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 4


async def test_request_is_translated(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0002")
    image: ChatCompletionContentPartParam = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
    }
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}, image]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny"},
    ]
    async with sdk(gate, token) as client:
        await client.chat.completions.create(
            model=MODEL,
            messages=messages,
            tools=[WEATHER_TOOL],
            tool_choice="required",
            max_completion_tokens=300,
            temperature=0.2,
            stop="END",
        )
    sent = (await gate.upstream.last_request())["body"]
    assert sent["model"] == "claude-sonnet-4-5"
    assert sent["system"] == "Be brief."
    assert sent["max_tokens"] == 300
    assert sent["temperature"] == 0.2
    assert sent["stop_sequences"] == ["END"]
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}],
        },
    ]
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert sent["tool_choice"] == {"type": "any"}


async def test_max_tokens_defaults_to_the_model_limit(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0003")
    async with sdk(gate, token) as client:
        await client.chat.completions.create(
            model="anthropic/claude-3-7-sonnet-20250219",
            messages=ask(),
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
    sent = (await gate.upstream.last_request())["body"]
    assert sent["max_tokens"] == 64000
    assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}


async def test_tool_calls_streamed_and_not(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0004")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=ask("#fake tool=get_weather chunks=2"), stream=True
        )
        chunks = [chunk async for chunk in stream]
        answer = await client.chat.completions.create(
            model=MODEL, messages=ask("#fake tool=get_weather chunks=2")
        )
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "toolu_fake0"
    assert calls[0].type == "function"
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert {call.index for call in calls} == {0}
    assert "".join(c.function.arguments or "" for c in calls if c.function) == '{"city": "Paris"}'
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    message = answer.choices[0].message
    assert message.content == "".join(reply_pieces(2))
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.type == "function"
    assert call.function.arguments == '{"city": "Paris"}'
    assert answer.choices[0].finish_reason == "tool_calls"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 12


async def test_stop_reasons_in_openai_words(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0005")
    async with sdk(gate, token) as client:
        for directive, reason in (("length", "length"), ("refusal", "content_filter")):
            answer = await client.chat.completions.create(
                model=MODEL, messages=ask(f"#fake finish={directive} chunks=1")
            )
            assert answer.choices[0].finish_reason == reason


async def test_one_choice_only(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0006")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=MODEL, messages=ask(), n=2)
        answer = await client.chat.completions.create(model=MODEL, messages=ask(), n=1)
    assert refused.value.param == "n"
    assert refused.value.code is None
    assert "Anthropic" in refused.value.message
    assert answer.choices[0].message.content == FULL_ANSWER
    assert len(await gate.upstream.requests()) == 1  # the refused one never left


async def test_json_output_is_asked_with_a_schema_or_refused(gate: Gate) -> None:
    token = await gate.create_user(anthropic_api_key="sk-ant-v1-0007")
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    async with sdk(gate, token) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(
                model=MODEL, messages=ask(), response_format={"type": "json_object"}
            )
        assert await gate.upstream.requests() == []
        await client.chat.completions.create(
            model=MODEL,
            messages=ask(),
            response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
        )
        sent = (await gate.upstream.last_request())["body"]
        await client.chat.completions.create(
            model=MODEL, messages=ask(), response_format={"type": "text"}
        )
        plain = (await gate.upstream.last_request())["body"]
    assert refused.value.param == "response_format"
    assert "Anthropic" in refused.value.message
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "output_config" not in plain
