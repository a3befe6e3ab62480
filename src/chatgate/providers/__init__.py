"""Every provider of the ``/api/chat/<provider>`` routes, in one table.

Adding a provider is one entry here and, unless it speaks OpenAI's wire
format, one module beside this one. Providers know nothing of the database,
the web framework or the settings: keys, URLs and limits arrive as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatgate.providers import anthropic, anthropic_openai, azure, google, google_openai, openai
from chatgate.providers.chat import BuildCall, BuildJsonCall, TranslateCall


@dataclass(frozen=True, slots=True)
class Provider:
    name: str  # the route, /api/chat/<name>, and its CHATGATE_<NAME>_BASE_URL setting
    display_name: str  # in every message the user reads
    # The profile field holding the key (its environment variable comes from
    # chatgate.profile_fields); None: each custom model holds its own.
    key_field: str | None
    build_call: BuildCall
    # How an OpenAI chat completion request reaches it, for a provider that does
    # not speak OpenAI's wire format; None: the request goes on as it came.
    translate: TranslateCall | None = None
    # Its embeddings in OpenAI's form, where it has them (passed through).
    embeddings: BuildJsonCall | None = None


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "openai",
        "OpenAI",
        "openai_api_key",
        openai.build_call,
        embeddings=openai.build_embeddings_call,
    ),
    Provider(
        "anthropic",
        "Anthropic",
        "anthropic_api_key",
        anthropic.build_call,
        anthropic_openai.translate_call,
    ),
    Provider(
        "google",
        "Google Gemini",
        "google_gemini_api_key",
        google.build_call,
        google_openai.translate_call,
    ),
    Provider(
        "mistral",
        "Mistral",
        "mistral_api_key",
        openai.build_compatible_call,
        embeddings=openai.build_compatible_embeddings_call,
    ),
    Provider("groq", "Groq", "groq_api_key", openai.build_compatible_call),
    Provider("perplexity", "Perplexity", "perplexity_api_key", openai.build_compatible_call),
    Provider("openrouter", "OpenRouter", "openrouter_api_key", openai.build_compatible_call),
    Provider(
        "azure",
        "Azure OpenAI",
        "azure_openai_api_key",
        azure.build_call,
        embeddings=azure.build_embeddings_call,
    ),
    Provider(
        "custom",
        "Custom",
        None,
        openai.build_custom_call,
        embeddings=openai.build_custom_embeddings_call,
    ),
)
