"""The profile fields a user can store, and the server variables that overlay them.

One row a field, in Chatbot UI's names: the ``profiles`` column, the
environment variable that replaces it for every user when set, the key under
which ``GET /api/keys`` reports that variable, whether it is a secret (sealed at
rest like all fields, and masked whenever it is shown), and the provider it
belongs to (see chatgate.profiles.overlay_env for why that matters).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_FIELD_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class ProfileField:
    name: str
    env_var: str
    env_map_key: str
    secret: bool
    provider: str


PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("openai_api_key", "OPENAI_API_KEY", "openai", True, "openai"),
    ProfileField(
        "openai_organization_id",
        "OPENAI_ORGANIZATION_ID",
        "openai_organization_id",
        False,
        "openai",
    ),
    ProfileField("anthropic_api_key", "ANTHROPIC_API_KEY", "anthropic", True, "anthropic"),
    ProfileField("google_gemini_api_key", "GOOGLE_GEMINI_API_KEY", "google", True, "google"),
    ProfileField("mistral_api_key", "MISTRAL_API_KEY", "mistral", True, "mistral"),
    ProfileField("groq_api_key", "GROQ_API_KEY", "groq", True, "groq"),
    ProfileField("perplexity_api_key", "PERPLEXITY_API_KEY", "perplexity", True, "perplexity"),
    ProfileField("openrouter_api_key", "OPENROUTER_API_KEY", "openrouter", True, "openrouter"),
    ProfileField("azure_openai_api_key", "AZURE_OPENAI_API_KEY", "azure", True, "azure"),
    ProfileField(
        "azure_openai_endpoint", "AZURE_OPENAI_ENDPOINT", "azure_openai_endpoint", False, "azure"
    ),
    ProfileField(
        "azure_openai_35_turbo_id",
        "AZURE_GPT_35_TURBO_NAME",
        "azure_gpt_35_turbo_name",
        False,
        "azure",
    ),
    ProfileField(
        "azure_openai_45_turbo_id",
        "AZURE_GPT_45_TURBO_NAME",
        "azure_gpt_45_turbo_name",
        False,
        "azure",
    ),
    ProfileField(
        "azure_openai_45_vision_id",
        "AZURE_GPT_45_VISION_NAME",
        "azure_gpt_45_vision_name",
        False,
        "azure",
    ),
    ProfileField(
        "azure_openai_embeddings_id",
        "AZURE_EMBEDDINGS_NAME",
        "azure_embeddings_name",
        False,
        "azure",
    ),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in PROFILE_FIELDS)
FIELDS_BY_NAME: dict[str, ProfileField] = {f.name: f for f in PROFILE_FIELDS}
