"""The provider settings an operator sets through the environment."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from chatgate.providers import PROVIDERS
from chatgate.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CHATGATE_") or name == "OPENAI_BASE_URL":
            monkeypatch.delenv(name)


def test_every_provider_with_a_fixed_api_has_a_default_root() -> None:
    urls = load_settings({}).base_urls
    assert urls == {
        "openai": "https://api.openai.com/v1",
        "anthropic": "https://api.anthropic.com",
        "google": "https://generativelanguage.googleapis.com",
        "mistral": "https://api.mistral.ai/v1",
        "groq": "https://api.groq.com/openai/v1",
        "perplexity": "https://api.perplexity.ai",
        "openrouter": "https://openrouter.ai/api/v1",
    }
    # Azure's endpoint is the user's resource; a custom model holds its own URL.
    assert {p.name for p in PROVIDERS} - set(urls) == {"azure", "custom"}


def test_base_urls_and_azure_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATGATE_ANTHROPIC_BASE_URL", "https://proxy.corp/anthropic/")
    monkeypatch.setenv("CHATGATE_AZURE_DEPLOYMENTS", '{"gpt-4o": "corp-4o"}')
    monkeypatch.setenv("CHATGATE_AZURE_API_VERSION", "2025-01-01-preview")
    settings = load_settings({})
    assert settings.base_urls["anthropic"] == "https://proxy.corp/anthropic"
    assert settings.azure_deployments == {"gpt-4o": "corp-4o"}
    assert settings.azure_api_version == "2025-01-01-preview"


def test_a_base_url_that_is_not_a_web_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGATE_GROQ_BASE_URL", "api.groq.com/openai/v1")
    with pytest.raises(ValidationError, match="must be an http:// or https:// URL"):
        load_settings({})
