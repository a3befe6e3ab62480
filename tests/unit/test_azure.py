"""Azure OpenAI: which deployment a model goes to, and the request it gets."""

from __future__ import annotations

import orjson
import pytest
from pydantic import SecretStr

from chatgate.errors import BadRequest
from chatgate.providers import azure
from chatgate.providers.chat import Access, ChatRequest, ProviderOptions, UpstreamCall

PROFILE = {
    "azure_openai_endpoint": "https://team.openai.azure.com/",
    "azure_openai_35_turbo_id": "turbo35",
    "azure_openai_45_vision_id": "vision",
}
OPTIONS = ProviderOptions(azure_api_version="2024-10-21", azure_deployments={"gpt-4o": "team-4o"})


def call(model: str, profile: dict[str, str] = PROFILE) -> UpstreamCall:
    chat = ChatRequest(model=model, temperature=0.2, messages=[{"role": "user", "content": "Hi"}])
    access = Access(
        api_key=SecretStr("azure-key-unit"), base_url="", profile=profile, options=OPTIONS
    )
    return azure.build_call(chat, access)


def test_profile_deployment_and_api_version_make_the_url() -> None:
    sent = call("gpt-3.5-turbo")
    assert sent.url == (
        "https://team.openai.azure.com/openai/deployments/turbo35/chat/completions"
        "?api-version=2024-10-21"
    )
    assert sent.headers["api-key"] == "azure-key-unit"
    assert "Authorization" not in sent.headers
    assert orjson.loads(sent.body) == {
        "model": "turbo35",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "stream": True,
    }


def test_vision_model_gets_max_tokens() -> None:
    assert orjson.loads(call("gpt-4-vision-preview").body)["max_tokens"] == 4096


def test_operator_maps_newer_models() -> None:
    assert "/deployments/team-4o/" in call("gpt-4o").url


def test_unknown_model() -> None:
    with pytest.raises(BadRequest, match=r"^Model not found$"):
        call("gpt-4.5-unknown")


@pytest.mark.parametrize(
    ("model", "profile"),
    [
        ("gpt-4-turbo-preview", PROFILE),  # no deployment for it
        ("gpt-3.5-turbo", {"azure_openai_35_turbo_id": "turbo35"}),  # no endpoint
    ],
)
def test_missing_resources(model: str, profile: dict[str, str]) -> None:
    with pytest.raises(BadRequest, match=r"^Azure resources not found$"):
        call(model, profile)


@pytest.mark.parametrize("deployment", ["../admin", "a/b", "x?api-version=1", "a b"])
def test_deployment_names_that_could_change_the_url_are_refused(deployment: str) -> None:
    with pytest.raises(BadRequest, match="deployment name"):
        call("gpt-3.5-turbo", {**PROFILE, "azure_openai_35_turbo_id": deployment})


@pytest.mark.parametrize(
    "endpoint",
    [
        "team.openai.azure.com",
        "ftp://x",
        "file:///etc/passwd",
        "https://x/?a=b",
        # An empty query or fragment, invisible once parsed, would swallow the path.
        "https://team.openai.azure.com/#",
        "https://team.openai.azure.com?",
        "https://user:pass@team.openai.azure.com",
        "https://team.openai.azure.com:99999",
        "http://[::1",
        "http://[::1]:80x",
        "https://team.openai.azure.com\\@evil.example",
        "https://127.0.0.1%2f@x",
    ],
)
def test_endpoint_must_be_a_web_url(endpoint: str) -> None:
    with pytest.raises(BadRequest, match=r"^The Azure OpenAI endpoint (must|is not|has no)"):
        call("gpt-3.5-turbo", {**PROFILE, "azure_openai_endpoint": endpoint})
