"""Every provider's route as the front end sees it: one contract, every provider.

A user who switches from GPT-4o to Claude, Gemini or their own server gets the
same JSON errors, the same cut-off answer when the provider fails mid-stream,
and a request in the provider's own shape. The answer's text as it arrives, and
the stop button, are in tests/e2e/test_providers.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.api.conftest import Gate, OpenGate, auth, provider_env


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
CASES_BY_NAME = {c.provider: c for c in CASES}


@pytest.fixture(params=CASES, ids=[c.provider for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    found: Case = request.param
    return found


@pytest.fixture(params=[c for c in CASES if c.key_field], ids=lambda c: c.provider)
def keyed_case(request: pytest.FixtureRequest) -> Case:
    found: Case = request.param
    return found


@dataclass(frozen=True)
class Caller:
    token: str
    extra: dict[str, Any]  # customModelId, for the custom route


async def caller(gate: Gate, case: Case, key: str | None) -> Caller:
    """A new user set up for the case's provider, holding ``key``."""
    if case.key_field is None:
        token = await gate.create_user()
        model = await gate.create_custom_model(token, base_url=gate.upstream.url, api_key=key)
        return Caller(token, {"customModelId": model["id"]})
    fields = {case.key_field: key} if key else {}
    if case.provider == "azure":
        fields |= {
            "azure_openai_endpoint": gate.upstream.root,
            "azure_openai_35_turbo_id": "chat-deployment",
        }
    return Caller(await gate.create_user(**fields), {})


def chat_body(case: Case, who: Caller, text: str, **settings: Any) -> dict[str, Any]:
    return {
        "chatSettings": {"model": case.model, "temperature": 0.5, **settings},
        "messages": case.messages(text),
        **who.extra,
    }


async def post(gate: Gate, case: Case, who: Caller, body: dict[str, Any]) -> httpx.Response:
    return await gate.client.post(case.path, json=body, headers=auth(who.token))


def tagged(directive: str) -> str:
    """A #fake line unique to this request, so its fault counts start afresh."""
    return f"#fake {directive} tag={time.monotonic_ns()}"


async def test_missing_key_asks_the_user_to_set_it(gate: Gate, keyed_case: Case) -> None:
    who = await caller(gate, keyed_case, None)
    response = await post(gate, keyed_case, who, chat_body(keyed_case, who, "Hello"))
    assert response.status_code == 400
    assert response.json() == {
        "message": f"{keyed_case.name} API Key not found. Please set it in your profile settings."
    }


async def test_rejected_key_asks_the_user_to_fix_it(gate: Gate, case: Case) -> None:
    who = await caller(gate, case, f"{case.provider}-key-that-is-bad")
    response = await post(gate, case, who, chat_body(case, who, "Hello"))
    assert response.status_code == 401
    assert response.json() == {
        "message": f"{case.name} API Key is incorrect. Please fix it in your profile settings."
    }


async def test_rate_limit_passes_retry_after_on(gate: Gate, case: Case) -> None:
    who = await caller(gate, case, case.key)
    await gate.upstream.clear()
    body = chat_body(case, who, tagged("status=429 retry_after=0"))
    response = await post(gate, case, who, body)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0"
    assert response.json() == {"message": "Fake failure with status 429"}
    assert len(await gate.upstream.requests()) == 3  # the first try and two retries


async def test_upstream_error_keeps_its_status_and_message(gate: Gate, case: Case) -> None:
    who = await caller(gate, case, case.key)
    response = await post(gate, case, who, chat_body(case, who, tagged("status=404")))
    assert response.status_code == 404
    assert response.json() == {"message": "Fake failure with status 404"}


async def read_answer(gate: Gate, case: Case, who: Caller, body: Any, *, into: list[str]) -> None:
    """Read an answer, collecting its text (kept if the stream breaks)."""
    async with gate.client.stream(
        "POST", case.path, json=body, headers=auth(who.token)
    ) as response:
        assert response.status_code == 200
        async for text in response.aiter_text():
            into.append(text)


@pytest.mark.parametrize("fault", ["fail_after=3", "error_after=3", "malformed_after=3"])
async def test_failure_mid_answer_breaks_the_stream(gate: Gate, case: Case, fault: str) -> None:
    who = await caller(gate, case, case.key)
    received: list[str] = []
    body = chat_body(case, who, f"#fake {fault} delay_ms=20")
    with pytest.raises(httpx.RemoteProtocolError):
        await read_answer(gate, case, who, body, into=received)
    assert "".join(received) == "".join(reply_pieces(3))


# The status each provider's in-band error event stands for.
IN_BAND_ERROR_STATUS = {"anthropic": 529, "google": 500}


async def test_error_event_before_any_text_is_a_json_error(gate: Gate, case: Case) -> None:
    who = await caller(gate, case, case.key)
    response = await post(gate, case, who, chat_body(case, who, "#fake error_after=0"))
    assert response.status_code == IN_BAND_ERROR_STATUS.get(case.provider, 502)
    assert response.json()["message"]


def expected_request(case: Case) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The path, headers and body the provider must receive for "Hello"."""
    bearer = {"Authorization": f"Bearer {case.key}"}
    messages = case.messages("Hello")

    def completions(model: str, **limits: int) -> dict[str, Any]:
        return {"model": model, "messages": messages, "temperature": 0.5, **limits, "stream": True}

    match case.provider:
        case "anthropic":
            return (
                "/v1/messages",
                {"x-api-key": case.key, "anthropic-version": "2023-06-01"},
                {
                    "model": case.model,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
                    "system": "Be brief.",
                    "temperature": 0.5,
                    "max_tokens": 4096,
                    "stream": True,
                },
            )
        case "google":
            return (
                f"/v1beta/models/{case.model}:streamGenerateContent?alt=sse",
                {"x-goog-api-key": case.key},
                {"contents": messages, "generationConfig": {"temperature": 0.5}},
            )
        case "azure":
            return (
                "/openai/deployments/chat-deployment/chat/completions?api-version=2024-10-21",
                {"api-key": case.key},
                completions("chat-deployment"),
            )
        case "openai":
            return "/v1/chat/completions", bearer, completions(case.model, max_tokens=4096)
        case "mistral":
            return "/v1/chat/completions", bearer, completions(case.model, max_tokens=16000)
        case "groq":
            return "/v1/chat/completions", bearer, completions(case.model, max_tokens=8192)
        case "custom":  # the stored model id, not the one in chatSettings
            return "/v1/chat/completions", bearer, completions("fake-local-model")
        case _:  # perplexity, openrouter: no output limit, as Chatbot UI sends them
            return "/v1/chat/completions", bearer, completions(case.model)


async def test_request_reaches_the_provider_in_its_own_shape(gate: Gate, case: Case) -> None:
    who = await caller(gate, case, case.key)
    assert (await post(gate, case, who, chat_body(case, who, "Hello"))).status_code == 200
    sent = await gate.upstream.last_request()
    path, headers, body = expected_request(case)
    assert sent["path"] == path
    assert {name: sent["headers"].get(name) for name in headers} == headers
    assert sent["body"] == body
    # The key travels in the provider's own header only.
    other_key_headers = {"Authorization", "x-api-key", "x-goog-api-key", "api-key"} - set(headers)
    assert not other_key_headers & set(sent["headers"])


TEAM_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-team-0210",
    "GOOGLE_GEMINI_API_KEY": "AIza-team-key-0211",
    "MISTRAL_API_KEY": "mistral-team-0212",
}


@pytest.mark.parametrize(
    ("provider", "env_var", "key_header", "prefix"),
    [
        ("anthropic", "ANTHROPIC_API_KEY", "x-api-key", ""),
        ("google", "GOOGLE_GEMINI_API_KEY", "x-goog-api-key", ""),
        ("mistral", "MISTRAL_API_KEY", "Authorization", "Bearer "),
    ],
)
async def test_server_wide_key_overlays_every_profile(
    open_gate: OpenGate, provider: str, env_var: str, key_header: str, prefix: str
) -> None:
    case = CASES_BY_NAME[provider]
    async with open_gate(provider_env=provider_env(TEAM_KEYS)) as gate:
        gate.secrets_used.update(TEAM_KEYS.values())
        with_own_key = await caller(gate, case, case.key)
        without_key = await caller(gate, case, None)
        for who in (with_own_key, without_key):
            response = await post(gate, case, who, chat_body(case, who, "Hello"))
            assert response.status_code == 200
            sent = await gate.upstream.last_request()
            assert sent["headers"][key_header] == prefix + TEAM_KEYS[env_var]
        keys = (await gate.client.get("/api/keys")).json()["isUsingEnvKeyMap"]
        assert keys[provider] is True
        assert keys["groq"] is False


PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


async def test_anthropic_gets_images_as_base64_image_blocks(gate: Gate) -> None:
    case = CASES_BY_NAME["anthropic"]
    who = await caller(gate, case, case.key)
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    body = chat_body(case, who, "unused")
    body["messages"][-1]["content"] = [{"type": "text", "text": "What is this?"}, image]
    assert (await post(gate, case, who, body)).status_code == 200
    assert (await gate.upstream.last_request())["body"]["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
            ],
        }
    ]


async def test_google_gets_images_as_inline_data(gate: Gate) -> None:
    case = CASES_BY_NAME["google"]
    who = await caller(gate, case, case.key)
    inline = {"inlineData": {"data": PNG, "mimeType": "image/png"}}
    body = chat_body(case, who, "unused")
    body["messages"][-1]["parts"] = [{"text": "What is this?"}, inline]
    # A client that sends OpenAI's shape gets the same request.
    openai_shaped = chat_body(case, who, "unused")
    openai_shaped["messages"][-1] = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ],
    }
    for sent in (body, openai_shaped):
        assert (await post(gate, case, who, sent)).status_code == 200
        contents = (await gate.upstream.last_request())["body"]["contents"]
        assert contents[-1] == {"role": "user", "parts": [{"text": "What is this?"}, inline]}


@pytest.mark.parametrize(
    "model", ["../../v1/models", "gemini-pro:generateContent?key=x#", "gemini-pro/x", ""]
)
async def test_google_model_names_cannot_reach_into_the_url(gate: Gate, model: str) -> None:
    case = CASES_BY_NAME["google"]
    who = await caller(gate, case, case.key)
    await gate.upstream.clear()
    response = await post(gate, case, who, chat_body(case, who, "Hello", model=model))
    assert response.status_code == 400
    assert "model" in response.json()["message"]
    assert await gate.upstream.requests() == []


THE_FAKE = "(the fake's root)"


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        (
            "gpt-4-nonexistent",
            {"azure_openai_api_key": "azure-key-0213", "azure_openai_endpoint": THE_FAKE},
            "Model not found",
        ),
        (
            "gpt-4-turbo-preview",
            {
                "azure_openai_api_key": "azure-key-0214",
                "azure_openai_endpoint": THE_FAKE,
                "azure_openai_35_turbo_id": "d35",
            },
            "Azure resources not found",
        ),
        (
            "gpt-3.5-turbo",
            {"azure_openai_api_key": "azure-key-0215", "azure_openai_35_turbo_id": "d35"},
            "Azure resources not found",
        ),
        (
            "gpt-4-nonexistent",
            {"azure_openai_endpoint": THE_FAKE},
            "Azure OpenAI API Key not found. Please set it in your profile settings.",
        ),
    ],
    ids=["unknown-model", "no-deployment", "no-endpoint", "key-checked-first"],
)
async def test_azure_model_and_resource_errors(
    gate: Gate, model: str, fields: dict[str, str], message: str
) -> None:
    case = CASES_BY_NAME["azure"]
    profile = {name: gate.upstream.root if v == THE_FAKE else v for name, v in fields.items()}
    who = Caller(await gate.create_user(**profile), {})
    await gate.upstream.clear()
    response = await post(gate, case, who, chat_body(case, who, "Hello", model=model))
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert await gate.upstream.requests() == []


async def test_azure_operator_maps_newer_models_to_deployments(gate: Gate) -> None:
    case = CASES_BY_NAME["azure"]
    who = await caller(gate, case, case.key)
    response = await post(gate, case, who, chat_body(case, who, "Hello", model="gpt-4o"))
    assert response.status_code == 200
    sent = await gate.upstream.last_request()
    assert sent["path"].startswith("/openai/deployments/team-4o/chat/completions?")
    assert sent["body"]["max_tokens"] == 4096
