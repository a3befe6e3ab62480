"""The provider settings an operator sets through the environment."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from chatgate.profile_fields import PROFILE_FIELDS
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


def test_base_urls_and_azure_settings_come_from_the_environment() -> None:
    settings = load_settings(
        {
            "CHATGATE_ANTHROPIC_BASE_URL": "https://proxy.corp/anthropic/",
            "CHATGATE_AZURE_DEPLOYMENTS": '{"gpt-4o": "corp-4o"}',
            "CHATGATE_AZURE_API_VERSION": "2025-01-01-preview",
        }
    )
    assert settings.base_urls["anthropic"] == "https://proxy.corp/anthropic"
    assert settings.azure_deployments == {"gpt-4o": "corp-4o"}
    assert settings.azure_api_version == "2025-01-01-preview"


def test_a_base_url_that_is_not_a_web_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be an http:// or https:// URL"):
        load_settings({"CHATGATE_GROQ_BASE_URL": "api.groq.com/openai/v1"})


def test_settings_come_only_from_the_mapping_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGATE_PORT", "1234")
    monkeypatch.setenv("CHATGATE_LOG_LEVEL", "debug")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-process")
    settings = load_settings({"CHATGATE_PORT": "9999"})
    assert settings.port == 9999
    assert settings.log_level == "info"
    assert settings.provider_env == {}
    assert load_settings().port == 1234  # without a mapping: the process's environment


def test_every_profile_field_has_its_server_variable() -> None:
    environ = {field.env_var: f"value of {field.name}" for field in PROFILE_FIELDS}
    provider_env = load_settings(environ).provider_env
    assert {name: value.get_secret_value() for name, value in provider_env.items()} == environ


@pytest.mark.parametrize(
    ("configured", "origins"),
    [
        ("https://chat.example.com/", ["https://chat.example.com"]),
        (
            "http://localhost:3000, https://a.example",
            ["http://localhost:3000", "https://a.example"],
        ),
    ],
)
def test_cors_origins_are_normalised(configured: str, origins: list[str]) -> None:
    assert load_settings({"CHATGATE_CORS_ORIGINS": configured}).cors_origins == origins


@pytest.mark.parametrize(
    "origin",
    ["chat.example.com", "https://chat.example.com/app", "https://a.example?x=1", "ftp://a"],
)
def test_an_origin_that_is_not_scheme_host_port_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match=r"is not an origin \(scheme://host\[:port\]\)"):
        load_settings({"CHATGATE_CORS_ORIGINS": origin})


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        load_settings({"CHATGATE_SECRET_KEY": "s" * 31})
    assert load_settings({"CHATGATE_SECRET_KEY": "s" * 32}).secret_key is not None


def test_supabase_sign_in_settings_derive_the_issuer_and_the_jwks() -> None:
    environ = {
        "CHATGATE_SUPABASE_URL": "https://abcd.supabase.co/",
        "CHATGATE_TRUSTED_PROXIES": "10.0.0.7, 172.16.0.0/12, ::1",
    }
    settings = load_settings(environ)
    assert settings.session_issuer == "https://abcd.supabase.co/auth/v1"
    assert settings.session_jwks_url == "https://abcd.supabase.co/auth/v1/.well-known/jwks.json"
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.7/32", "172.16.0.0/12", "::1/128"]
    environ["CHATGATE_JWT_ISSUER"] = "https://auth.example.com/"
    environ["CHATGATE_JWKS_URL"] = "https://auth.example.com/keys"
    settings = load_settings(environ)
    assert settings.session_issuer == "https://auth.example.com/"
    assert settings.session_jwks_url == "https://auth.example.com/keys"


def test_without_a_supabase_url_there_is_no_sign_in_by_access_token() -> None:
    settings = load_settings({})
    assert (settings.session_issuer, settings.session_jwks_url) == (None, None)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("CHATGATE_TRUSTED_PROXIES", "10.0.0.1,proxy.local", "does not appear to be an IPv4"),
        ("CHATGATE_SUPABASE_JWT_SECRET", "short", "at least 32 characters"),
        ("CHATGATE_SUPABASE_URL", "abcd.supabase.co", "must be an http"),
        ("CHATGATE_SUPABASE_DATABASE_URL", "mysql://db/x", "must be a postgresql:// URL"),
    ],
)
def test_supabase_settings_that_cannot_work_are_refused_at_start(
    name: str, value: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        load_settings({name: value})
