"""/v1 over Google Gemini: OpenAI's requests translated to generateContent and its
candidate chunks back into OpenAI's chunks, seen through the openai SDK."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from chatgate.fake import reply_pieces
from tests.api.conftest import Gate, auth
from tests.api.test_v1 import WEATHER_TOOL, ask, sdk

FULL_ANSWER = "".join(reply_pieces(12))
MODEL = "google/gemini-2.5-flash"
SIGNATURE = "c2lnbmF0dXJlLWZha2U="


async def test_streamed_answer_with_usage(gate: Gate) -> None:
    token = await gate.create_user(google_gemini_api_key="gem-v1-0001")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=ask("#fake thoughts=5 cached=4"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == FULL_ANSWER
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None
    # completion = candidates (1) + thoughts (5)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 6, 16)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 4


async def test_function_call_round_trip_keeps_its_thought_signature(gate: Gate) -> None:
    token = await gate.create_user(google_gemini_api_key="gem-v1-0002")
    question: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "#fake tool=get_weather chunks=1"},
    ]
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=question, tools=[WEATHER_TOOL], stream=True
        )
        chunks = [chunk async for chunk in stream]
        calls = [
            c for chunk in chunks if chunk.choices for c in chunk.choices[0].delta.tool_calls or []
        ]
        assert len(calls) == 1
        call = calls[0]
        assert call.index == 0
        assert call.function is not None
        assert call.function.name == "get_weather"
        assert call.function.arguments == '{"city":"Paris"}'
        assert call.id is not None
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
        follow_up: list[ChatCompletionMessageParam] = [
            *question,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny"},
        ]
        answer = await client.chat.completions.create(
            model=MODEL, messages=follow_up, tools=[WEATHER_TOOL], tool_choice="required"
        )
    assert answer.choices[0].message.content == "".join(reply_pieces(12))
    sent = (await gate.upstream.last_request())["body"]
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": SIGNATURE,
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "Sunny"}}}
            ],
        },
    ]
    assert sent["tools"] == [{"functionDeclarations": [dict(WEATHER_TOOL["function"])]}]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


async def test_generation_settings_are_translated(gate: Gate) -> None:
    token = await gate.create_user(google_gemini_api_key="gem-v1-0003")
    async with sdk(gate, token) as client:
        await client.chat.completions.create(
            model="gemini-2.5-pro",
            messages=ask(),
            max_tokens=100,
            temperature=0.1,
            top_p=0.9,
            stop=["END"],
            response_format={"type": "json_object"},
        )
    sent = await gate.upstream.last_request()
    assert sent["path"].startswith("/v1beta/models/gemini-2.5-pro:streamGenerateContent")
    assert sent["body"]["generationConfig"] == {
        "maxOutputTokens": 100,
        "temperature": 0.1,
        "topP": 0.9,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
    }


async def test_stop_reasons_in_openai_words(gate: Gate) -> None:
    token = await gate.create_user(google_gemini_api_key="gem-v1-0004")
    async with sdk(gate, token) as client:
        for directive, reason in (("length", "length"), ("SAFETY", "content_filter")):
            answer = await client.chat.completions.create(
                model=MODEL, messages=ask(f"#fake finish={directive} chunks=1")
            )
            assert answer.choices[0].finish_reason == reason


async def test_one_candidate_only(gate: Gate) -> None:
    token = await gate.create_user(google_gemini_api_key="gem-v1-0005")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=MODEL, messages=ask(), n=3, stream=True)
        answer = await client.chat.completions.create(model=MODEL, messages=ask(), n=1)
    assert refused.value.param == "n"
    assert "Google Gemini" in refused.value.message
    assert answer.choices[0].message.content == FULL_ANSWER
    sent = (await gate.upstream.last_request())["body"]
    assert "candidateCount" not in sent.get("generationConfig", {})
    assert len(await gate.upstream.requests()) == 1  # the refused one never left


async def test_a_json_schema_goes_as_gemini_takes_json_schema(gate: Gate) -> None:
    token = await gate.create_user(google_gemini_api_key="gem-v1-0006")
    schema = {
        "type": "object",
        "properties": {"city": {"type": ["string", "null"]}},
        "required": ["city"],
        "additionalProperties": False,
    }
    async with sdk(gate, token) as client:
        await client.chat.completions.create(
            model=MODEL,
            messages=ask(),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "c", "schema": schema, "strict": True},
            },
        )
        config = (await gate.upstream.last_request())["body"]["generationConfig"]
    refused = await gate.client.post(
        "/v1/chat/completions",
        json={"model": MODEL, "messages": ask(), "response_format": {"type": "yaml"}},
        headers=auth(token),
    )
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "response_format"
