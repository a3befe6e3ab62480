"""Every setting chatgate reads, in one place.

chatgate's own settings carry the ``CHATGATE_`` prefix. The provider variables
(``OPENAI_API_KEY`` and friends) keep the names Chatbot UI uses, so an existing
deployment's environment works unchanged: when set and non-empty they overlay
every user's profile.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from contextvars import ContextVar
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from chatgate.profile_fields import PROFILE_FIELDS

MIB = 1024 * 1024

# Server-wide provider settings, named as Chatbot UI names them. Set and
# non-empty, each replaces the matching profile field for every user.
PROVIDER_ENV_VARS = tuple(field.env_var for field in PROFILE_FIELDS)
MIN_SECRET_LENGTH = 32
# The environment load_settings reads (None: the process's own): see MappingEnvSource.
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("chatgate_environ", default=None)


class MappingEnvSource(EnvSettingsSource):
    """The ``CHATGATE_*`` variables of one mapping (the process's environment by default)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._environ.items()}


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
            "Encrypts stored provider keys (32 characters or more); generated into the data "
            "directory when unset, which only the SQLite default allows."
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

    header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a client has to send a request's headers."
    )
    body_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a client has to send a request's body."
    )
    max_connections: int | None = Field(
        default=None,
        gt=0,
        description="Open client connections per process (unset: from the open-file limit).",
    )
    max_body_bytes: int = Field(
        default=20 * MIB, gt=0, description="Largest accepted request body."
    )
    max_json_body_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest accepted body on every route but the chat routes.",
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
    allowed_upstream_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts users' custom models and Azure endpoints may reach even if private.",
    )
    deny_private_upstreams: bool | None = Field(
        default=None,
        description=(
            "Refuse private and loopback addresses for users' custom models and Azure "
            "endpoints (default: on when CHATGATE_HOST is not a loopback address)."
        ),
    )

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

    # Sign-in through Supabase, and Chatbot UI's own tables.
    supabase_url: str | None = Field(
        default=None,
        description="The Supabase project URL (https://<ref>.supabase.co): enables its sign-in.",
    )
    supabase_jwt_secret: SecretStr | None = Field(
        default=None, description="The project's JWT secret, for HS256 access tokens."
    )
    jwks_url: str | None = Field(
        default=None,
        description="Where the token signing keys are (default: the project's JWKS).",
    )
    jwt_audience: str = Field(
        default="authenticated", description="The aud an access token must carry."
    )
    jwt_issuer: str | None = Field(
        default=None,
        description="The iss an access token must carry (default: <supabase_url>/auth/v1).",
    )
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDR ranges whose X-Forwarded-Host/-Proto are believed.",
    )
    supabase_database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://... of the Supabase database: read Chatbot UI's profiles.",
    )

    provider_env: dict[str, SecretStr] = Field(
        default_factory=dict,
        exclude=True,
        description="The set, non-empty PROVIDER_ENV_VARS (filled by load_settings).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _environ.get()
        return (
            init_settings,
            MappingEnvSource(settings_cls, os.environ if environ is None else environ),
        )

    @field_validator(
        "cors_origins", "previous_secret_keys", "allowed_upstream_hosts", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # Plain comma-separated lists read better in an environment than JSON arrays.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        # A browser sends its Origin as scheme://host[:port], never with a slash or a path:
        # anything else would silently never match.
        origins = []
        for origin in value:
            origin = origin.rstrip("/")
            parts = urlsplit(origin)
            if origin != "*" and (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path
                or parts.query
                or parts.fragment
                or parts.username
                or parts.password
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
            origins.append(origin)
        return origins

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and 0 < len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters long")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            # An address alone is a range of one; host bits in a range are forgiven.
            return [ipaddress.ip_network(item, strict=False) for item in value]
        return value

    @field_validator("supabase_jwt_secret")
    @classmethod
    def _jwt_secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (the project's JWT secret)")
        return value

    @field_validator("supabase_url", "jwks_url", "jwt_issuer")
    @classmethod
    def _optional_http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        # An issuer is compared exactly as written; the other two get paths appended.
        return value if info.field_name == "jwt_issuer" else value.rstrip("/")

    @field_validator("supabase_database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://", "postgresql+asyncpg://")
        ):
            raise ValueError("must be a postgresql:// URL")
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
    def private_upstreams_denied(self) -> bool:
        """CHATGATE_DENY_PRIVATE_UPSTREAMS, else on unless only loopback can reach the server."""
        if self.deny_private_upstreams is not None:
            return self.deny_private_upstreams
        if self.host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return True

    @property
    def session_issuer(self) -> str | None:
        """The issuer access tokens must name; None: no sign-in by access token."""
        if self.jwt_issuer:
            return self.jwt_issuer
        return f"{self.supabase_url}/auth/v1" if self.supabase_url else None

    @property
    def session_jwks_url(self) -> str | None:
        if self.jwks_url:
            return self.jwks_url
        return f"{self.supabase_url}/auth/v1/.well-known/jwks.json" if self.supabase_url else None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.default_database_url

    @property
    def default_database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'chatgate.db').resolve()}"

    @property
    def uses_default_database(self) -> bool:
        """The SQLite database in the data directory, which may live beside a generated secret."""
        return self.effective_database_url == self.default_database_url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (the process's environment by default) and nothing
    else, provider variables included."""
    env = os.environ if environ is None else environ
    provider_env = {name: SecretStr(env[name]) for name in PROVIDER_ENV_VARS if env.get(name)}
    token = _environ.set(env)
    try:
        return Settings(provider_env=provider_env)
    finally:
        _environ.reset(token)
