"""Model names on /v1: ``<provider>/<model>``, split at the first ``/``
(``openrouter/meta-llama/llama-3.3-70b-instruct``), ``custom/<name>`` for one
of the caller's custom models, or a bare name the catalogue gives to exactly
one provider the caller holds a key for (``gpt-4o``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from chatgate.custom_models import ListedCustomModel
from chatgate.errors import StoredKeyUnreadable
from chatgate.identities import Identity
from chatgate.models import CATALOGUE
from chatgate.profile_source import list_user_custom_models
from chatgate.providers import PROVIDERS, Provider
from chatgate.runtime import Runtime
from chatgate.v1.errors import ModelNotFound

BY_NAME = {provider.name: provider for provider in PROVIDERS}
CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    provider: Provider
    model: str  # as the provider names it
    custom_model_id: str | None = None


def has_key(provider: Provider, identity: Identity) -> bool:
    """Whether the caller's profile (or the server's environment) holds the provider's key."""
    if provider.key_field is None:
        return False
    try:
        return identity.profile.get(provider.key_field) is not None
    except StoredKeyUnreadable:
        return False


def catalogue_models(identity: Identity, *, azure_deployments: Iterator[str]) -> Iterator[str]:
    """``<provider>/<model>`` for every catalogue model whose provider the caller can use."""
    usable = {name for name, provider in BY_NAME.items() if has_key(provider, identity)}
    for provider, model in CATALOGUE:
        if provider in usable:
            yield f"{provider}/{model}"
    if "azure" in usable:
        listed = {model for provider, model in CATALOGUE if provider == "azure"}
        yield from (f"azure/{name}" for name in azure_deployments if name not in listed)


async def custom_models(runtime: Runtime, identity: Identity) -> list[ListedCustomModel]:
    """The caller's custom models, from the store that holds their profile."""
    return await list_user_custom_models(runtime, identity.owner)


async def resolve_model(runtime: Runtime, *, identity: Identity, name: str) -> ModelChoice:
    """The provider and model a /v1 model name stands for; ModelNotFound (404) otherwise."""
    prefix, slash, rest = name.partition("/")
    provider = BY_NAME.get(prefix) if slash and rest else None
    if provider is not None and provider.name == CUSTOM:
        for custom in await custom_models(runtime, identity):
            if custom.name == rest:
                # The model id to ask for comes with the model's key, when its access is resolved.
                return ModelChoice(provider, rest, custom_model_id=custom.id)
        raise ModelNotFound(name)
    if provider is not None:
        return ModelChoice(provider, rest)
    offering = [
        BY_NAME[provider_name]
        for provider_name, model in CATALOGUE
        if model == name and has_key(BY_NAME[provider_name], identity)
    ]
    if len(offering) == 1:
        return ModelChoice(offering[0], name)
    raise ModelNotFound(name)
