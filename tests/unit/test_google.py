"""Chat messages as Gemini's streamGenerateContent takes them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from chatgate.errors import BadRequest, UpstreamError
from chatgate.providers import google
from chatgate.providers.chat import Access, AnswerEnd, ChatRequest

ACCESS = Access(api_key=SecretStr("AIza-unit-key"), base_url="https://gemini.example")


def call(
    messages: list[Any], model: str = "gemini-1.5-pro-latest", temperature: float | None = 0.7
) -> Any:
    return google.build_call(
        ChatRequest(model=model, temperature=temperature, messages=messages), ACCESS
    )


def test_history_and_last_message_become_the_contents() -> None:
    messages = [
        {"role": "user", "parts": [{"text": "You are terse."}]},
        {"role": "model", "parts": [{"text": "I will follow your instructions."}]},
        {"role": "user", "parts": [{"text": "Hi"}]},
    ]
    sent = orjson.loads(call(messages).body)
    assert sent == {"contents": messages, "generationConfig": {"temperature": 0.7}}


def test_inline_image_parts_pass_through_and_the_last_turn_is_the_users() -> None:
    image = {"inlineData": {"data": "iVBORw0KGgo=", "mimeType": "image/png"}}
    messages = [
        {"role": "user", "parts": "System prompt as a string", "extra": 1},
        {"role": "model", "parts": [{"text": "What is this?"}, image]},
    ]
    sent = orjson.loads(call(messages, temperature=None).body)
    assert sent == {
        "contents": [
            {"role": "user", "parts": [{"text": "System prompt as a string"}]},
            {"role": "user", "parts": [{"text": "What is this?"}, image]},
        ]
    }


def test_openai_shaped_messages_are_converted() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": [{"type": "text", "text": "And this?"}, image]},
    ]
    assert orjson.loads(call(messages).body)["contents"] == [
        {"role": "user", "parts": [{"text": "Be brief."}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
        {
            "role": "user",
            "parts": [
                {"text": "And this?"},
                {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
            ],
        },
    ]


def test_model_goes_into_the_path_with_the_key_in_a_header() -> None:
    sent = call([{"role": "user", "parts": [{"text": "Hi"}]}], model="models/gemini-pro")
    assert sent.url == (
        "https://gemini.example/v1beta/models/gemini-pro:streamGenerateContent?alt=sse"
    )
    assert sent.headers["x-goog-api-key"] == "AIza-unit-key"
    assert "key=" not in sent.url


@pytest.mark.parametrize(
    "model",
    [
        "../files",
        "gemini-pro?key=x",
        "gemini-pro/x",
        "gemini pro",
        "gemini%2Fpro",
        "-x",
        "a:b",
        "x" * 200,
    ],
)
def test_model_names_that_could_change_the_url_are_refused(model: str) -> None:
    with pytest.raises(BadRequest, match="not a Gemini model name"):
        call([{"role": "user", "parts": [{"text": "Hi"}]}], model=model)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"role": "tool", "parts": [{"text": "x"}]}, r"messages\[0\].role must be user or model"),
        ({"role": "user", "parts": 3}, r"messages\[0\].parts must be a list"),
        ({"role": "user", "content": [{"type": "audio"}]}, "cannot take"),
        (
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
            },
            "not a base64 data URL",
        ),
    ],
)
def test_messages_gemini_cannot_take_are_explained(message: Any, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        call([message])


def test_candidate_text_is_the_answer() -> None:
    chunk = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "Thinking", "thought": True},
                        {"text": "Hi "},
                        {"text": "there"},
                    ],
                    "role": "model",
                },
                "index": 0,
            }
        ]
    }
    assert google.event_text(chunk) == "Hi there"
    assert google.event_text({"usageMetadata": {"totalTokenCount": 3}}) == ""


def test_a_candidate_with_a_finish_reason_ends_the_answer_with_its_text() -> None:
    with pytest.raises(AnswerEnd) as ended:
        google.event_text({"candidates": [{"finishReason": "STOP", "index": 0}]})
    assert ended.value.text == ""
    last = {"candidates": [{"content": {"parts": [{"text": "bye"}]}, "finishReason": "MAX_TOKENS"}]}
    with pytest.raises(AnswerEnd) as ended:
        google.event_text(last)
    assert ended.value.text == "bye"


@pytest.mark.parametrize(
    ("event", "message", "status"),
    [
        (
            {"error": {"code": 500, "message": "An internal error", "status": "INTERNAL"}},
            "An internal error",
            500,
        ),
        ({"promptFeedback": {"blockReason": "SAFETY"}}, r"blocked the prompt \(SAFETY\)", 400),
        (
            {"candidates": [{"finishReason": "RECITATION", "index": 0}]},
            r"withheld the answer \(RECITATION\)",
            400,
        ),
    ],
)
def test_errors_and_withheld_answers_raise(event: Any, message: str, status: int) -> None:
    with pytest.raises(UpstreamError, match=message) as raised:
        google.event_text(event)
    assert raised.value.status == status


def test_invalid_key_is_recognised_although_gemini_answers_400() -> None:
    assert google.gemini_key_rejected(400, "API key not valid. Please pass a valid API key.", "400")
    assert google.gemini_key_rejected(400, "API key expired. Please renew the API key.", "400")
    assert not google.gemini_key_rejected(400, "Please use a valid role: user, model.", "400")
