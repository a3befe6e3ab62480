"""Every provider's answer from a real server: its text arrives as the provider
sends it, and the stop button closes the provider's stream.

The rest of the contract every provider shares (the same errors, retries, the
request in the provider's own shape) is tested in-process: tests/api/test_providers.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import Server, Upstream


@dataclass(frozen=True)
class Case:
    provider: str
    name: str  # as the user reads it in messages
    key_field: str | None  # None: the custom model holds the key
    model: str
    key: str  # one the fake accepts

    @property
    def path(self) -> str:
        return f"/api/chat/{self.provider}"

    def messages(self, text: str) -> list[dict[str, Any]]:
        """The messages the front end builds for this provider."""
        if self.provider == "google":
            return [
                {"role": "user", "parts": [{"text": "Be brief."}]},
                {"role": "model", "parts": [{"text": "I will follow your instructions."}]},
                {"role": "user", "parts": [{"text": text}]},
            ]
        return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


CASES = [
    Case("openai", "OpenAI", "openai_api_key", "gpt-4o", "sk-openai-good-0201"),
    Case(
        "anthropic",
        "Anthropic",
        "anthropic_api_key",
        "claude-3-5-sonnet-20240620",
        "sk-ant-good-0202",
    ),
    Case(
        "google",
        "Google Gemini",
        "google_gemini_api_key",
        "gemini-1.5-pro-latest",
        "AIza-good-key-0203",
    ),
    Case("mistral", "Mistral", "mistral_api_key", "mistral-large-latest", "mistral-good-0204"),
    Case("groq", "Groq", "groq_api_key", "llama3-70b-8192", "gsk-good-key-0205"),
    Case("perplexity", "Perplexity", "perplexity_api_key", "sonar", "pplx-good-key-0206"),
    Case("openrouter", "OpenRouter", "openrouter_api_key", "openai/gpt-4o", "sk-or-good-0207"),
    Case("azure", "Azure OpenAI", "azure_openai_api_key", "gpt-3.5-turbo", "azure-good-0208"),
    Case("custom", "Custom", None, "local-model", "sk-custom-good-0209"),
]


@pytest.fixture(params=CASES, ids=[c.provider for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    found: Case = request.param
    return found


@dataclass(frozen=True)
class Caller:
    token: str
    extra: dict[str, Any]  # customModelId, for the custom route


def caller(server: Server, upstream: Upstream, case: Case, key: str | None) -> Caller:
    """A new user set up for the case's provider, holding ``key``."""
    if case.key_field is None:
        token = server.create_user()
        model = server.create_custom_model(token, base_url=upstream.url, api_key=key)
        return Caller(token, {"customModelId": model["id"]})
    fields = {case.key_field: key} if key else {}
    if case.provider == "azure":
        fields |= {
            "azure_openai_endpoint": upstream.root,
            "azure_openai_35_turbo_id": "chat-deployment",
        }
    return Caller(server.create_user(**fields), {})


def chat_body(case: Case, who: Caller, text: str, **settings: Any) -> dict[str, Any]:
    return {
        "chatSettings": {"model": case.model, "temperature": 0.5, **settings},
        "messages": case.messages(text),
        **who.extra,
    }


def test_answer_streams_as_plain_text_as_it_arrives(
    sqlite_server: Server, upstream: Upstream, case: Case
) -> None:
    server = sqlite_server
    who = caller(server, upstream, case, case.key)
    started = time.monotonic()
    with httpx.stream(
        "POST",
        server.base_url + case.path,
        json=chat_body(case, who, "#fake chunks=4 delay_ms=300"),
        headers={"Authorization": f"Bearer {who.token}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        chunks = response.iter_text()
        first = next(chunks)
        first_at = time.monotonic() - started
        rest = "".join(chunks)
        total = time.monotonic() - started
    assert first + rest == "".join(reply_pieces(4))
    # Three 300 ms pauses follow the first word: it must not wait for them.
    assert first_at < total - 0.6


def test_stop_button_closes_the_upstream_request(
    sqlite_server: Server, upstream: Upstream, case: Case
) -> None:
    server = sqlite_server
    who = caller(server, upstream, case, case.key)
    before = upstream.stats().get("client_gone", 0)
    with (
        httpx.Client(timeout=30) as client,
        client.stream(
            "POST",
            server.base_url + case.path,
            json=chat_body(case, who, "#fake chunks=200 delay_ms=50"),
            headers={"Authorization": f"Bearer {who.token}"},
        ) as response,
    ):
        assert next(response.iter_text()).startswith("This")
    closed_at = time.monotonic()
    while upstream.stats().get("client_gone", 0) == before:
        assert time.monotonic() - closed_at < 1.0, (
            "upstream still streaming a second after the client left"
        )
        time.sleep(0.02)
