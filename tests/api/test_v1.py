"""OpenAI's API on /v1, used through the official openai SDK as any client would."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from chatgate.fake import reply_pieces
from tests.api.conftest import Gate, OpenGate, auth

FULL_ANSWER = "".join(reply_pieces(12))
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@asynccontextmanager
async def sdk(gate: Gate, token: str) -> AsyncIterator[openai.AsyncOpenAI]:
    # The SDK's own HTTP client library (httpx2), on the app in-process.
    transport = httpx2.ASGITransport(app=gate.app)
    async with httpx2.AsyncClient(transport=transport) as http:
        yield openai.AsyncOpenAI(
            base_url="http://gate/v1", api_key=token, http_client=http, max_retries=0
        )


def ask(text: str = "Hello") -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


async def test_models_lists_what_the_caller_holds_keys_for(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-models-0001", groq_api_key="gsk-v1-0001")
    async with sdk(gate, token) as client:
        page = await client.models.list()
        ids = [model.id for model in page.data]
        assert "openai/gpt-4o" in ids
        assert "groq/llama-3.3-70b-versatile" in ids
        assert not [i for i in ids if i.startswith(("anthropic/", "google/", "mistral/"))]
        assert all(model.owned_by == model.id.split("/")[0] for model in page.data)
        one = await client.models.retrieve("openai/gpt-4o")  # sent as openai%2Fgpt-4o
        assert one.id == "openai/gpt-4o"
        with pytest.raises(openai.NotFoundError) as missing:
            await client.models.retrieve("anthropic/claude-sonnet-4-5")
        assert missing.value.code == "model_not_found"


async def test_custom_models_are_listed_and_answer_by_name(gate: Gate) -> None:
    token = await gate.create_user()
    await gate.create_custom_model(
        token, name="Local", base_url=gate.upstream.root + "/local/v1", model_id="llama-local"
    )
    async with sdk(gate, token) as client:
        ids = [model.id for model in (await client.models.list()).data]
        assert ids == ["custom/Local"]
        answer = await client.chat.completions.create(model="custom/Local", messages=ask())
    assert answer.choices[0].message.content == FULL_ANSWER
    assert (await gate.upstream.last_request())["body"]["model"] == "llama-local"


async def test_streamed_answer_with_usage(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-stream-0002")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model="openai/gpt-4o",
            messages=ask("#fake cached=2"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == FULL_ANSWER
    assert {c.model for c in chunks} == {"openai/gpt-4o"}
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (5, 9, 14)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 2


async def test_usage_chunk_is_asked_for_but_kept_from_a_client_that_did_not(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-stream-0003")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=ask(), stream=True, temperature=0.2
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.choices and c.usage is None for c in chunks)
    sent = (await gate.upstream.last_request())["body"]
    assert sent["model"] == "gpt-4o"
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.2


async def test_body_goes_on_as_sent_with_the_model_rules_applied(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-body-0004")
    async with sdk(gate, token) as client:
        await client.chat.completions.create(
            model="openai/o3-mini",
            messages=ask(),
            temperature=0.7,
            seed=7,
            stop=["\n\n"],
            response_format={"type": "json_object"},
            tools=[WEATHER_TOOL],
            tool_choice="auto",
            parallel_tool_calls=False,
        )
    sent = (await gate.upstream.last_request())["body"]
    assert "temperature" not in sent  # reasoning models refuse it
    assert sent["model"] == "o3-mini"
    assert sent["seed"] == 7
    assert sent["stop"] == ["\n\n"]
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["tools"] == [WEATHER_TOOL]
    assert sent["tool_choice"] == "auto"
    assert sent["parallel_tool_calls"] is False


async def test_answer_without_streaming_has_its_usage(gate: Gate) -> None:
    token = await gate.create_user(mistral_api_key="mistral-v1-0005")
    async with sdk(gate, token) as client:
        answer = await client.chat.completions.create(
            model="mistral/mistral-large-latest", messages=ask()
        )
    assert answer.object == "chat.completion"
    assert answer.model == "mistral/mistral-large-latest"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == FULL_ANSWER
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.total_tokens == 14


async def test_tool_calls_streamed_and_not(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-tools-0006")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model="openai/gpt-4o",
            messages=ask("#fake tool=get_weather chunks=0"),
            tools=[WEATHER_TOOL],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
        answer = await client.chat.completions.create(
            model="openai/gpt-4o",
            messages=ask("#fake tool=get_weather chunks=0"),
            tools=[WEATHER_TOOL],
        )
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "call_fake0"
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert {call.index for call in calls} == {0}
    arguments = "".join(call.function.arguments or "" for call in calls if call.function)
    assert arguments == '{"city": "Paris"}'
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    message = answer.choices[0].message
    assert answer.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name) == ("call_fake0", "get_weather")
    assert call.function.arguments == '{"city": "Paris"}'


async def test_finish_reason_length_is_relayed(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-length-0007")
    async with sdk(gate, token) as client:
        answer = await client.chat.completions.create(
            model="gpt-4o", messages=ask("#fake finish=length chunks=3")
        )
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content == "".join(reply_pieces(3))


# Errors, each as the SDK's own exception ------------------------------------------------


async def test_wrong_chatgate_token_is_an_authentication_error(gate: Gate) -> None:
    async with sdk(gate, "cg_not-a-token") as client:
        with pytest.raises(openai.AuthenticationError) as failed:
            await client.chat.completions.create(model="gpt-4o", messages=ask())
        assert failed.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()


async def test_unknown_model_is_not_found(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-404-0008")
    async with sdk(gate, token) as client:
        for name in ("claude-sonnet-4-5", "no-such-model", "nowhere/model", "custom/Nope"):
            with pytest.raises(openai.NotFoundError) as missing:
                await client.chat.completions.create(model=name, messages=ask())
            assert missing.value.code == "model_not_found"
            assert "GET /v1/models" in missing.value.message


async def test_bad_body_names_the_field(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-400-0009")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="gpt-4o", messages=[])
    error = bad.value.body
    assert isinstance(error, dict)
    assert error["param"] == "messages"
    assert error["type"] == "invalid_request_error"


async def test_provider_key_missing_is_a_bad_request(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-nokey-0010")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="groq/llama3-8b-8192", messages=ask())
    assert "Groq API Key not found" in bad.value.message


async def test_chatgate_rate_limit_is_a_rate_limit_error(open_gate: OpenGate) -> None:
    async with open_gate(rate_limit_per_minute=1) as gate:
        token = await gate.create_user(openai_key="sk-v1-429-0011")
        async with sdk(gate, token) as client:
            await client.chat.completions.create(model="gpt-4o", messages=ask())
            with pytest.raises(openai.RateLimitError) as limited:
                await client.chat.completions.create(model="gpt-4o", messages=ask())
    assert limited.value.response.headers["retry-after"]


async def test_provider_status_comes_through(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-418-0012")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.APIStatusError) as failed:
            await client.chat.completions.create(
                model="gpt-4o", messages=ask(f"#fake status=418 tag={time.monotonic_ns()}")
            )
    assert failed.value.status_code == 418
    assert failed.value.message.endswith("Fake failure with status 418")


async def test_provider_refusing_the_key_is_an_authentication_error(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-key-bad")
    async with sdk(gate, token) as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            await client.chat.completions.create(model="gpt-4o", messages=ask())
    assert "OpenAI API Key is incorrect" in refused.value.message


async def test_failure_mid_stream_is_an_error_event_without_done(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-midway-0013")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=ask("#fake error_after=3"), stream=True
        )
        received: list[str] = []

        async def read_all() -> None:
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")

        with pytest.raises(openai.APIError) as failed:
            await read_all()
    assert "".join(received) == "".join(reply_pieces(3))
    assert "server had an error" in failed.value.message
    raw = await gate.client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": ask("#fake error_after=3"), "stream": True},
        headers=auth(token),
    )
    assert raw.text.rstrip().endswith("}")
    assert "[DONE]" not in raw.text


async def test_body_that_is_no_json_or_too_large(open_gate: OpenGate) -> None:
    async with open_gate(max_body_bytes=1000) as gate:
        token = await gate.create_user(openai_key="sk-v1-413-0014")
        not_json = await gate.client.post("/v1/chat/completions", content=b"{", headers=auth(token))
        async with sdk(gate, token) as client:
            with pytest.raises(openai.APIStatusError) as too_large:
                await client.chat.completions.create(model="gpt-4o", messages=ask("x" * 2000))
    assert not_json.status_code == 400
    assert not_json.json() == {
        "error": {
            "message": "We could not parse the JSON body of your request.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert too_large.value.status_code == 413
    assert "larger than the limit of 1000 bytes" in too_large.value.message


async def test_azure_answers_from_the_models_deployment(gate: Gate) -> None:
    token = await gate.create_user(
        azure_openai_api_key="az-v1-0015", azure_openai_endpoint=gate.upstream.root
    )
    async with sdk(gate, token) as client:
        assert "azure/gpt-4o" in [model.id for model in (await client.models.list()).data]
        stream = await client.chat.completions.create(
            model="azure/gpt-4o", messages=ask(), stream=True
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == FULL_ANSWER
    sent = await gate.upstream.last_request()
    assert sent["path"].startswith("/openai/deployments/team-4o/chat/completions?api-version=")
    assert sent["headers"]["api-key"] == "az-v1-0015"


# Several choices at once (n) ---------------------------------------------------------


async def test_several_choices_without_streaming_are_each_assembled(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-n-0016")
    async with sdk(gate, token) as client:
        answer = await client.chat.completions.create(
            model="openai/gpt-4o", messages=ask("#fake chunks=3 finish=stop,length"), n=2
        )
    assert (await gate.upstream.last_request())["body"]["n"] == 2
    assert [choice.index for choice in answer.choices] == [0, 1]
    assert [choice.message.content for choice in answer.choices] == [
        "".join(reply_pieces(3)),
        "".join(reply_pieces(3, choice=1)),
    ]
    assert [choice.finish_reason for choice in answer.choices] == ["stop", "length"]
    assert answer.usage is not None
    assert (answer.usage.completion_tokens, answer.usage.total_tokens) == (18, 23)


async def test_several_choices_each_keep_their_tool_calls(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-n-0017")
    async with sdk(gate, token) as client:
        answer = await client.chat.completions.create(
            model="openai/gpt-4o",
            messages=ask("#fake tool=get_weather chunks=0"),
            tools=[WEATHER_TOOL],
            n=3,
        )
    assert len(answer.choices) == 3
    for index, choice in enumerate(answer.choices):
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        calls = choice.message.tool_calls
        assert calls is not None
        assert len(calls) == 1
        call = calls[0]
        assert call.type == "function"
        assert (call.id, call.function.name) == (f"call_fake{index}", "get_weather")
        assert call.function.arguments == '{"city": "Paris"}'


async def test_several_choices_stream_each_under_its_index(gate: Gate) -> None:
    token = await gate.create_user(groq_api_key="gsk-v1-n-0018")
    async with sdk(gate, token) as client:
        stream = await client.chat.completions.create(
            model="groq/llama-3.3-70b-versatile",
            messages=ask("#fake chunks=4 finish=length,stop"),
            n=2,
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
    with_choices = [chunk for chunk in chunks if chunk.choices]
    # OpenAI's shape: one choice a chunk, each step once for every index.
    assert all(len(chunk.choices) == 1 for chunk in with_choices)
    indexes = [chunk.choices[0].index for chunk in with_choices]
    assert indexes[:4] == [0, 1, 0, 1]
    texts = {
        index: "".join(
            c.choices[0].delta.content or "" for c in with_choices if c.choices[0].index == index
        )
        for index in (0, 1)
    }
    assert texts == {0: "".join(reply_pieces(4)), 1: "".join(reply_pieces(4, choice=1))}
    finishes = {c.choices[0].index: c.choices[0].finish_reason for c in with_choices}
    assert finishes == {0: "length", 1: "stop"}
    assert {c.model for c in chunks} == {"groq/llama-3.3-70b-versatile"}


async def test_n_that_is_not_a_whole_number_names_the_field(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-v1-n-0019")
    for n in (0, -1, 1.5, "2", True):
        response = await gate.client.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o", "messages": ask(), "n": n},
            headers=auth(token),
        )
        assert response.status_code == 400, n
        assert response.json()["error"]["param"] == "n"
    assert await gate.upstream.requests() == []
