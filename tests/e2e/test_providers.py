"""Every provider's route as the front end sees it: one contract, every provider.

A user who switches from GPT-4o to Claude, Gemini or their own server gets
the same plain-text stream, the same JSON errors and the same stop button.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import Server, Upstream, run_server


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


def post(server: Server, case: Case, who: Caller, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        server.base_url + case.path,
        json=body,
        headers={"Authorization": f"Bearer {who.token}"},
        timeout=30,
    )


def tagged(directive: str) -> str:
    """A #fake line unique to this request, so its fault counts start afresh."""
    return f"#fake {directive} tag={time.monotonic_ns()}"


def test_answer_streams_as_plain_text_as_it_arrives(
    server: Server, upstream: Upstream, case: Case
) -> None:
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


def test_missing_key_asks_the_user_to_set_it(
    server: Server, upstream: Upstream, keyed_case: Case
) -> None:
    who = caller(server, upstream, keyed_case, None)
    response = post(server, keyed_case, who, chat_body(keyed_case, who, "Hello"))
    assert response.status_code == 400
    assert response.json() == {
        "message": f"{keyed_case.name} API Key not found. Please set it in your profile settings."
    }


def test_rejected_key_asks_the_user_to_fix_it(
    server: Server, upstream: Upstream, case: Case
) -> None:
    who = caller(server, upstream, case, f"{case.provider}-key-that-is-bad")
    response = post(server, case, who, chat_body(case, who, "Hello"))
    assert response.status_code == 401
    assert response.json() == {
        "message": f"{case.name} API Key is incorrect. Please fix it in your profile settings."
    }


def test_rate_limit_passes_retry_after_on(server: Server, upstream: Upstream, case: Case) -> None:
    who = caller(server, upstream, case, case.key)
    upstream.clear()
    body = chat_body(case, who, tagged("status=429 retry_after=0"))
    response = post(server, case, who, body)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0"
    assert response.json() == {"message": "Fake failure with status 429"}
    assert len(upstream.requests()) == 3  # the first try and two retries


def test_upstream_error_keeps_its_status_and_message(
    server: Server, upstream: Upstream, case: Case
) -> None:
    who = caller(server, upstream, case, case.key)
    response = post(server, case, who, chat_body(case, who, tagged("status=404")))
    assert response.status_code == 404
    assert response.json() == {"message": "Fake failure with status 404"}


def read_answer(server: Server, case: Case, who: Caller, body: Any, *, into: list[str]) -> None:
    """Stream an answer, collecting its text as it arrives (kept if the stream breaks)."""
    with httpx.stream(
        "POST",
        server.base_url + case.path,
        json=body,
        headers={"Authorization": f"Bearer {who.token}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            into.append(text)


@pytest.mark.parametrize("fault", ["fail_after=3", "error_after=3", "malformed_after=3"])
def test_failure_mid_answer_breaks_the_stream(
    server: Server, upstream: Upstream, case: Case, fault: str
) -> None:
    who = caller(server, upstream, case, case.key)
    received: list[str] = []
    body = chat_body(case, who, f"#fake {fault} delay_ms=20")
    with pytest.raises(httpx.RemoteProtocolError):
        read_answer(server, case, who, body, into=received)
    assert "".join(received) == "".join(reply_pieces(3))


# The status each provider's in-band error event stands for.
IN_BAND_ERROR_STATUS = {"anthropic": 529, "google": 500}


def test_error_event_before_any_text_is_a_json_error(
    server: Server, upstream: Upstream, case: Case
) -> None:
    who = caller(server, upstream, case, case.key)
    response = post(server, case, who, chat_body(case, who, "#fake error_after=0"))
    assert response.status_code == IN_BAND_ERROR_STATUS.get(case.provider, 502)
    assert response.json()["message"]


def test_stop_button_closes_the_upstream_request(
    server: Server, upstream: Upstream, case: Case
) -> None:
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


def test_request_reaches_the_provider_in_its_own_shape(
    server: Server, upstream: Upstream, case: Case
) -> None:
    who = caller(server, upstream, case, case.key)
    assert post(server, case, who, chat_body(case, who, "Hello")).status_code == 200
    sent = upstream.last_request()
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


@pytest.fixture(scope="module")
def env_key_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("env-keys-providers")
    server_env = {**TEAM_KEYS}
    for server in run_server(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", server_env):
        server.secrets_used.update(TEAM_KEYS.values())
        yield server


@pytest.mark.parametrize(
    ("provider", "env_var", "key_header", "prefix"),
    [
        ("anthropic", "ANTHROPIC_API_KEY", "x-api-key", ""),
        ("google", "GOOGLE_GEMINI_API_KEY", "x-goog-api-key", ""),
        ("mistral", "MISTRAL_API_KEY", "Authorization", "Bearer "),
    ],
)
def test_server_wide_key_overlays_every_profile(
    env_key_server: Server,
    upstream: Upstream,
    provider: str,
    env_var: str,
    key_header: str,
    prefix: str,
) -> None:
    case = CASES_BY_NAME[provider]
    with_own_key = caller(env_key_server, upstream, case, case.key)
    without_key = caller(env_key_server, upstream, case, None)
    for who in (with_own_key, without_key):
        response = post(env_key_server, case, who, chat_body(case, who, "Hello"))
        assert response.status_code == 200
        assert upstream.last_request()["headers"][key_header] == prefix + TEAM_KEYS[env_var]
    keys = httpx.get(env_key_server.base_url + "/api/keys").json()["isUsingEnvKeyMap"]
    assert keys[provider] is True
    assert keys["groq"] is False


PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


def test_anthropic_gets_images_as_base64_image_blocks(server: Server, upstream: Upstream) -> None:
    case = CASES_BY_NAME["anthropic"]
    who = caller(server, upstream, case, case.key)
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    body = chat_body(case, who, "unused")
    body["messages"][-1]["content"] = [{"type": "text", "text": "What is this?"}, image]
    assert post(server, case, who, body).status_code == 200
    assert upstream.last_request()["body"]["messages"] == [
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


def test_google_gets_images_as_inline_data(server: Server, upstream: Upstream) -> None:
    case = CASES_BY_NAME["google"]
    who = caller(server, upstream, case, case.key)
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
        assert post(server, case, who, sent).status_code == 200
        contents = upstream.last_request()["body"]["contents"]
        assert contents[-1] == {"role": "user", "parts": [{"text": "What is this?"}, inline]}


@pytest.mark.parametrize(
    "model", ["../../v1/models", "gemini-pro:generateContent?key=x#", "gemini-pro/x", ""]
)
def test_google_model_names_cannot_reach_into_the_url(
    server: Server, upstream: Upstream, model: str
) -> None:
    case = CASES_BY_NAME["google"]
    who = caller(server, upstream, case, case.key)
    upstream.clear()
    response = post(server, case, who, chat_body(case, who, "Hello", model=model))
    assert response.status_code == 400
    assert "model" in response.json()["message"]
    assert upstream.requests() == []


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
def test_azure_model_and_resource_errors(
    server: Server, upstream: Upstream, model: str, fields: dict[str, str], message: str
) -> None:
    case = CASES_BY_NAME["azure"]
    profile = {name: upstream.root if v == THE_FAKE else v for name, v in fields.items()}
    who = Caller(server.create_user(**profile), {})
    upstream.clear()
    response = post(server, case, who, chat_body(case, who, "Hello", model=model))
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert upstream.requests() == []


def test_azure_operator_maps_newer_models_to_deployments(
    server: Server, upstream: Upstream
) -> None:
    case = CASES_BY_NAME["azure"]
    who = caller(server, upstream, case, case.key)
    response = post(server, case, who, chat_body(case, who, "Hello", model="gpt-4o"))
    assert response.status_code == 200
    sent = upstream.last_request()
    assert sent["path"].startswith("/openai/deployments/team-4o/chat/completions?")
    assert sent["body"]["max_tokens"] == 4096
