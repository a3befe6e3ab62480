"""Chat messages as Anthropic's messages API takes them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from chatgate.errors import BadRequest, UpstreamError
from chatgate.providers import anthropic
from chatgate.providers.chat import Access, AnswerEnd, ChatRequest, ProviderOptions

ACCESS = Access(
    api_key=SecretStr("sk-ant-unit"),
    base_url="https://anthropic.example",
    options=ProviderOptions(anthropic_version="2023-06-01"),
)


def payload(messages: list[Any], model: str = "claude-3-opus-20240229", **kw: Any) -> Any:
    chat = ChatRequest(model=model, temperature=kw.get("temperature", 0.5), messages=messages)
    return orjson.loads(anthropic.build_call(chat, ACCESS).body)


def test_first_message_is_the_system_prompt_and_text_becomes_blocks() -> None:
    sent = payload(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": [{"type": "text", "text": "Again"}]},
        ]
    )
    assert sent == {
        "model": "claude-3-opus-20240229",
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
            {"role": "user", "content": [{"type": "text", "text": "Again"}]},
        ],
        "temperature": 0.5,
        "max_tokens": 4096,
        "stream": True,
    }


def test_a_conversation_without_system_prompt_keeps_its_first_message() -> None:
    sent = payload([{"role": "user", "content": "Hi"}], temperature=None)
    assert "system" not in sent
    assert "temperature" not in sent
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


def test_system_text_parts_are_joined() -> None:
    system = [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}]
    sent = payload([{"role": "system", "content": system}, {"role": "user", "content": "Hi"}])
    assert sent["system"] == "Be brief.\nBe kind."


@pytest.mark.parametrize("text", [42, None, ["Be brief."], {"t": 1}])
def test_a_system_part_whose_text_is_not_text_is_the_callers_mistake(text: Any) -> None:
    system = [{"type": "text", "text": "Be brief."}, {"type": "text", "text": text}]
    with pytest.raises(BadRequest, match=r"^messages\[0\]\.content\[1\]\.text must be text$"):
        payload([{"role": "system", "content": system}, {"role": "user", "content": "Hi"}])


def test_data_url_image_becomes_a_base64_image_block() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}
    sent = payload([{"role": "system", "content": ""}, {"role": "user", "content": [image]}])
    assert "system" not in sent  # an empty system prompt is not sent
    assert sent["messages"][0]["content"] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
        }
    ]


def test_web_image_becomes_a_url_image_block() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    sent = payload([{"role": "user", "content": [image]}])
    assert sent["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
    ]


@pytest.mark.parametrize("url", ["data:image/png,notbase64", "file:///etc/passwd", ""])
def test_other_images_are_refused(url: str) -> None:
    image = {"type": "image_url", "image_url": {"url": url}}
    with pytest.raises(BadRequest, match=r"messages\[0\] has an image"):
        payload([{"role": "user", "content": [image]}])


@pytest.mark.parametrize(
    ("model", "max_tokens"),
    [
        ("claude-3-5-sonnet-20240620", 4096),
        ("claude-3-5-sonnet-20241022", 8192),
        ("claude-sonnet-4-20250514", 64000),
        ("claude-opus-4-20250514", 32000),
        ("claude-some-future-model", 4096),
    ],
)
def test_max_tokens_comes_from_the_output_limit_table(model: str, max_tokens: int) -> None:
    assert payload([{"role": "user", "content": "Hi"}], model=model)["max_tokens"] == max_tokens


def test_request_goes_to_messages_with_key_and_version_headers() -> None:
    chat = ChatRequest(
        model="claude-2.1", temperature=None, messages=[{"role": "user", "content": "x"}]
    )
    call = anthropic.build_call(chat, ACCESS)
    assert call.url == "https://anthropic.example/v1/messages"
    assert call.headers["x-api-key"] == "sk-ant-unit"
    assert call.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in call.headers


def test_only_text_deltas_are_text() -> None:
    text = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    assert anthropic.event_text(text) == "Hi"
    for other in (
        {"type": "message_start", "message": {}},
        {"type": "ping"},
        {"type": "content_block_delta", "delta": {"type": "input_json_delta", "partial_json": "{"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
    ):
        assert anthropic.event_text(other) == ""


def test_message_stop_is_the_end_of_the_answer() -> None:
    with pytest.raises(AnswerEnd) as ended:
        anthropic.event_text({"type": "message_stop"})
    assert ended.value.text == ""


def test_error_event_raises_with_its_message_and_status() -> None:
    event = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamError, match="Overloaded") as raised:
        anthropic.event_text(event)
    assert raised.value.status == 529
