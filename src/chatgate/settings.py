"""Every setting chatgate reads, in one place.

chatgate's own settings carry the ``CHATGATE_`` prefix. The provider variables
(``OPENAI_API_KEY`` and friends) keep the names Chatbot UI uses, so an existing
deployment's environment works unchanged: when set and non-empty they overlay
every user's profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024

# Server-wide provider settings, named as Chatbot UI names them. Set and
# non-empty, each replaces the matching profile field for every user.
PROVIDER_ENV_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_ORGANIZATION_ID",
    "ANTHROPIC_API_KEY",
    "GOOGLE_GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "PERPLEXITY_API_KEY",
    "OPENROUTER_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_GPT_35_TURBO_NAME",
    "AZURE_GPT_45_TURBO_NAME",
    "AZURE_GPT_45_VISION_NAME",
    "AZURE_EMBEDDINGS_NAME",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATGATE_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite database and the generated secret live."
    )
    database_url: str | None = Field(
        default=None,
        description=("postgresql://... or sqlite:///...; default: SQLite in the data directory."),
    )
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Secrets that stored keys may still be sealed with (during a rotation).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Encrypts stored provider keys; generated into the data directory when unset."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `chatgate serve` binds.")
    port: int = Field(default=8000, description="Port `chatgate serve` listens on.")
    workers: int = Field(default=1, ge=1, description="Worker processes for `chatgate serve`.")
    migrate_on_start: bool = Field(
        default=True, description="Apply pending migrations when serving."
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    log_content: bool = Field(
        default=False, description="Log the last message of every chat request (off: never)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0, ge=0, description="How long in-flight answers may finish after SIGTERM."
    )
    rate_limit_per_minute: int | None = Field(
        default=None, gt=0, description="Chat requests per user per minute (unset: no limit)."
    )
    max_streams_per_user: int | None = Field(
        default=None, gt=0, description="Concurrent answers per user (unset: no limit)."
    )
    identity_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        # A second saves nearly every lookup under load, and a change made with the CLI
        # (which cannot reach the cache without Redis) is seen before a person retries.
        description="How long a token's user and profile are reused between database reads.",
    )
    default_tokens_per_day: int | None = Field(
        default=None, gt=0, description="Tokens a user may use per UTC day (unset: no limit)."
    )
    default_tokens_per_month: int | None = Field(
        default=None,
        gt=0,
        description="Tokens a user may use per UTC calendar month (unset: no limit).",
    )
    redis_url: str | None = Field(
        default=None, description="Share the limits between instances through this Redis."
    )

    max_body_bytes: int = Field(
        default=20 * MIB, gt=0, description="Largest accepted request body."
    )
    upstream_connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to connect upstream."
    )
    upstream_first_byte_timeout: float = Field(
        default=600.0, gt=0, description="Seconds to wait for the first answer text."
    )
    upstream_idle_timeout: float = Field(
        default=300.0, gt=0, description="Seconds allowed between chunks."
    )
    upstream_max_retries: int = Field(default=2, ge=0, description="Retries before the first byte.")

    # Provider roots, as each provider's official SDK takes them: for the
    # OpenAI-compatible ones, the URL that /chat/completions is appended to.
    # Every setting named <provider>_base_url is that provider's (see base_urls).
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices("CHATGATE_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI API root that /chat/completions is appended to.",
    )
    anthropic_base_url: str = Field(
        default="https://api.anthropic.com", description="Anthropic API root (/v1/messages)."
    )
    google_base_url: str = Field(
        default="https://generativelanguage.googleapis.com",
        description="Google Gemini API root (/v1beta/models/...).",
    )
    mistral_base_url: str = Field(
        default="https://api.mistral.ai/v1", description="Mistral root for /chat/completions."
    )
    groq_base_url: str = Field(
        default="https://api.groq.com/openai/v1", description="Groq root for /chat/completions."
    )
    perplexity_base_url: str = Field(
        default="https://api.perplexity.ai", description="Perplexity root for /chat/completions."
    )
    openrouter_base_url: str = Field(
        default="https://openrouter.ai/api/v1",
        description="OpenRouter root for /chat/completions.",
    )
    anthropic_version: str = Field(
        default="2023-06-01", description="The anthropic-version header sent to Anthropic."
    )
    azure_api_version: str = Field(
        default="2024-10-21", description="The api-version query parameter sent to Azure OpenAI."
    )
    azure_deployments: dict[str, str] = Field(
        default_factory=dict,
        description=(
            'Azure deployments by model, as JSON ({"gpt-4o": "my-gpt4o"}), for models '
            "the profile has no deployment field for."
        ),
    )

    provider_env: dict[str, SecretStr] = Field(
        default_factory=dict,
        exclude=True,
        description="The set, non-empty PROVIDER_ENV_VARS (filled by load_settings).",
    )

    @field_validator("cors_origins", "previous_secret_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # Plain comma-separated lists read better in an environment than JSON arrays.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator(
        "openai_base_url",
        "anthropic_base_url",
        "google_base_url",
        "mistral_base_url",
        "groq_base_url",
        "perplexity_base_url",
        "openrouter_base_url",
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def base_urls(self) -> dict[str, str]:
        """Each provider's root, by provider name."""
        return {
            name.removesuffix("_base_url"): getattr(self, name)
            for name in type(self).model_fields
            if name.endswith("_base_url")
        }

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chatgate.db').resolve()}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, provider variables included."""
    env = os.environ if environ is None else environ
    provider_env = {name: SecretStr(env[name]) for name in PROVIDER_ENV_VARS if env.get(name)}
    return Settings(provider_env=provider_env)
