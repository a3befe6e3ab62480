"""Where a user's keys live: Chatbot UI's own tables for a user signed in through
its Supabase project when ``CHATGATE_SUPABASE_DATABASE_URL`` is set, chatgate's
own (encrypted) store for everyone else, users made with the CLI included."""

from __future__ import annotations

from pydantic import SecretStr

from chatgate.custom_models import ListedCustomModel, list_custom_models, load_custom_model
from chatgate.db.queries import TokenOwner
from chatgate.errors import CustomModelsManagedInChatbotUi, ProfilesManagedInChatbotUi
from chatgate.profiles import ServerProfile, load_profile
from chatgate.runtime import Runtime
from chatgate.supabase.chatbot_ui_store import ChatbotUiStore


def chatbot_ui_store(runtime: Runtime, owner: TokenOwner) -> ChatbotUiStore | None:
    """Chatbot UI's store when it holds this user's keys, else None."""
    store = runtime.chatbot_ui
    if store is None or owner.subject is None:
        return None
    return store if owner.issuer == runtime.settings.session_issuer else None


async def load_user_profile(runtime: Runtime, owner: TokenOwner) -> ServerProfile:
    """The user's profile with the environment laid over it; 404 ``Profile not found``
    for a Chatbot UI user without a row."""
    store = chatbot_ui_store(runtime, owner)
    if store is not None and owner.subject is not None:
        return await store.load_profile(
            user_id=owner.user_id,
            subject=owner.subject,
            provider_env=runtime.settings.provider_env,
        )
    return await load_profile(
        db=runtime.db,
        keyring=runtime.keyring,
        user_id=owner.user_id,
        provider_env=runtime.settings.provider_env,
    )


def refuse_profile_change(runtime: Runtime, owner: TokenOwner) -> None:
    """409 ``Profiles are managed in Chatbot UI`` for a user whose keys live there."""
    if chatbot_ui_store(runtime, owner) is not None:
        raise ProfilesManagedInChatbotUi()


def refuse_custom_model_change(runtime: Runtime, owner: TokenOwner) -> None:
    """409 ``Custom models are managed in Chatbot UI`` for a user whose custom models
    come from there (one made here would never be used)."""
    if chatbot_ui_store(runtime, owner) is not None:
        raise CustomModelsManagedInChatbotUi()


async def list_user_custom_models(runtime: Runtime, owner: TokenOwner) -> list[ListedCustomModel]:
    """The custom models the user made, where they made them, oldest first."""
    store = chatbot_ui_store(runtime, owner)
    if store is not None and owner.subject is not None:
        return await store.list_custom_models(subject=owner.subject)
    own = await list_custom_models(db=runtime.db, keyring=runtime.keyring, user_id=owner.user_id)
    return [ListedCustomModel(id=m.id, name=m.name, created_at=m.created_at) for m in own]


async def load_user_custom_model(
    runtime: Runtime, *, owner: TokenOwner, custom_model_id: str
) -> tuple[str, SecretStr | None, str]:
    """(model id, key, base URL) of a custom model the user may use; 404
    ``Custom model not found`` otherwise."""
    store = chatbot_ui_store(runtime, owner)
    if store is not None and owner.subject is not None:
        shared = await store.load_custom_model(
            subject=owner.subject, custom_model_id=custom_model_id
        )
        return shared.model_id, shared.api_key, shared.base_url
    own = await load_custom_model(
        db=runtime.db,
        keyring=runtime.keyring,
        user_id=owner.user_id,
        custom_model_id=custom_model_id,
    )
    return own.model_id, own.api_key, own.base_url
