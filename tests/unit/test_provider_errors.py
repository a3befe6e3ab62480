"""Each provider's error body, turned into what the user reads."""

from __future__ import annotations

import orjson
import pytest

from chatgate.errors import ApiKeyIncorrect
from chatgate.providers.chat import KeyRejected, only_status_401
from chatgate.providers.google import gemini_key_rejected
from chatgate.providers.openai import openai_key_rejected
from chatgate.upstream.request import error_message, status_error

ANTHROPIC_401 = {
    "type": "error",
    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
}
GEMINI_400 = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [{"reason": "API_KEY_INVALID"}],
    }
}
AZURE_401 = {"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}
MISTRAL_401 = {"message": "Unauthorized", "request_id": "abc"}


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (ANTHROPIC_401, "invalid x-api-key", "authentication_error"),
        (GEMINI_400, "API key not valid. Please pass a valid API key.", "400"),
        ([GEMINI_400], "API key not valid. Please pass a valid API key.", "400"),
        (AZURE_401, "Access denied due to invalid subscription key.", "401"),
        (MISTRAL_401, "Unauthorized", None),
    ],
)
def test_error_message_and_code_of_each_providers_body(
    body: object, message: str, code: str | None
) -> None:
    assert error_message(orjson.dumps(body), "fallback") == (message, code)


def test_html_error_pages_fall_back_to_the_status() -> None:
    page = b"<html><head><title>401 Authorization Required</title></head></html>"
    assert error_message(page, "Perplexity answered with status 401") == (
        "Perplexity answered with status 401",
        None,
    )


def test_echoed_keys_are_redacted() -> None:
    body = {"error": {"message": "Incorrect API key provided: sk-abcdef1234567890."}}
    message, _ = error_message(orjson.dumps(body), "fallback")
    assert "sk-abcdef" not in message


@pytest.mark.parametrize(
    ("provider_name", "status", "body", "rejected"),
    [
        ("Anthropic", 401, ANTHROPIC_401, only_status_401),
        ("Google Gemini", 400, GEMINI_400, gemini_key_rejected),
        ("Azure OpenAI", 401, AZURE_401, only_status_401),
        ("Mistral", 401, MISTRAL_401, only_status_401),
        (
            "OpenAI",
            401,
            {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}},
            openai_key_rejected,
        ),
    ],
)
def test_a_refused_key_asks_the_user_to_fix_it(
    provider_name: str, status: int, body: object, rejected: KeyRejected
) -> None:
    error = status_error(
        status=status,
        body=orjson.dumps(body),
        headers={},
        provider_name=provider_name,
        key_rejected=rejected,
    )
    assert isinstance(error, ApiKeyIncorrect)
    assert error.status == 401
    assert error.message == (
        f"{provider_name} API Key is incorrect. Please fix it in your profile settings."
    )


def test_anthropic_overloaded_is_retried_and_keeps_its_status() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error = status_error(
        status=529,
        body=orjson.dumps(body),
        headers={"Retry-After": "2"},
        provider_name="Anthropic",
        key_rejected=only_status_401,
    )
    assert (error.status, error.message, error.retryable, error.retry_after) == (
        529,
        "Overloaded",
        True,
        "2",
    )
