from __future__ import annotations

import orjson
import pytest

from chatgate.errors import ApiKeyIncorrect, UpstreamError
from chatgate.providers.openai import delta_text, openai_key_rejected
from chatgate.redaction import redact
from chatgate.upstream.request import (
    backoff_seconds,
    error_message,
    status_error,
)

INCORRECT_KEY = orjson.dumps(
    {
        "error": {
            "message": "Incorrect API key provided: sk-abc***************wxyz. You can find your "
            "API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
)


def make_error(status: int, body: bytes, headers: dict[str, str] | None = None) -> UpstreamError:
    return status_error(
        status=status,
        body=body,
        headers=headers or {},
        provider_name="OpenAI",
        key_rejected=openai_key_rejected,
    )


def test_incorrect_key_becomes_the_fix_it_message() -> None:
    error = make_error(401, INCORRECT_KEY)
    assert isinstance(error, ApiKeyIncorrect)
    assert error.status == 401
    assert error.message == "OpenAI API Key is incorrect. Please fix it in your profile settings."


def test_other_statuses_keep_the_upstream_message_and_status() -> None:
    body = orjson.dumps({"error": {"message": "The model `gpt-9` does not exist", "code": None}})
    error = make_error(404, body)
    assert (error.status, error.message, error.retryable) == (
        404,
        "The model `gpt-9` does not exist",
        False,
    )


def test_rate_limit_is_retryable_and_carries_retry_after() -> None:
    error = make_error(429, b'{"error": {"message": "Slow down"}}', {"Retry-After": "7"})
    assert error.retryable
    assert error.headers() == {"Retry-After": "7"}


def test_insufficient_quota_is_not_retried() -> None:
    body = b'{"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}'
    assert not make_error(429, body).retryable


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    assert make_error(status, b"").retryable


def test_a_body_that_is_not_json_still_gives_a_message() -> None:
    # Text that is not the provider's JSON error shape may be an internal service's page.
    assert make_error(502, b"upstream connect error").message == "OpenAI answered with status 502"
    assert make_error(404, b'{"detail": "admin"}').message == "OpenAI answered with status 404"
    assert make_error(404, b'{"error": "admin"}').message == "OpenAI answered with status 404"
    # A proxy's HTML error page says nothing the status does not.
    assert make_error(502, b"<html>Bad gateway</html>").message == "OpenAI answered with status 502"
    assert make_error(503, b"").message == "OpenAI answered with status 503"


def test_key_fragments_never_reach_the_message() -> None:
    body = b'{"error": {"message": "Key sk-proj-abcdef123456 is disabled"}}'
    assert "abcdef" not in make_error(403, body).message
    assert redact("use sk-live-1234567890 please") == "use sk-[redacted] please"


def test_gemini_style_error_list() -> None:
    body = (
        b'[{"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}}]'
    )
    assert error_message(body, "x") == ("API key not valid", "400")


def test_backoff_honours_retry_after_and_grows_otherwise() -> None:
    assert backoff_seconds(0, "3") == 3.0
    assert 0.375 <= backoff_seconds(0, None) <= 0.5
    assert 1.5 <= backoff_seconds(2, None) <= 2.0
    assert backoff_seconds(9, "not-a-number") <= 8.0
    assert backoff_seconds(0, "3600") <= 0.5  # an hour is not worth holding the request


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, "Hi"),
        ({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}, ""),
        ({"choices": [], "usage": {"total_tokens": 9}}, ""),
        ({"choices": [], "prompt_filter_results": []}, ""),
        ({"choices": [{"index": 0, "delta": {"content": None, "tool_calls": []}}]}, ""),
        ([1, 2], ""),
    ],
)
def test_delta_text(event: object, text: str) -> None:
    assert delta_text(event) == text


def test_in_band_error_event_raises() -> None:
    with pytest.raises(UpstreamError, match="overloaded"):
        delta_text({"error": {"message": "The engine is overloaded"}})
