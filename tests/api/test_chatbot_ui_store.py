"""Keys and custom models read from Chatbot UI's own tables, on a fresh PostgreSQL
database shaped like a Supabase project running Chatbot UI."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from chatgate.db.chatbot_ui import ChatbotUiDatabase, ChatbotUiSchemaError
from chatgate.errors import ApiKeyNotFound, NotFound, ServiceUnavailable
from chatgate.profiles import check_api_key
from chatgate.settings import Settings
from chatgate.supabase.chatbot_ui_store import ChatbotUiStore
from tests.chatbot_ui_database import ADMIN_URL, add_model, sign_up

pytestmark = pytest.mark.postgres


async def open_store(url: str) -> ChatbotUiStore:
    store = ChatbotUiStore.from_settings(Settings(supabase_database_url=SecretStr(url)))
    assert store is not None
    await store.start()
    return store


@pytest.fixture
async def store(current_schema: str) -> AsyncIterator[ChatbotUiStore]:
    opened = await open_store(current_schema)
    yield opened
    await opened.close()


NO_ENV: dict[str, SecretStr] = {}


async def test_the_keys_a_user_typed_into_chatbot_ui_are_used(
    store: ChatbotUiStore, current_schema: str
) -> None:
    subject = await sign_up(
        current_schema, openai_api_key="sk-typed", openai_organization_id="org-1"
    )
    profile = await store.load_profile(user_id=7, subject=subject, provider_env=NO_ENV)
    assert profile.user_id == 7
    assert check_api_key(profile.get("openai_api_key"), "OpenAI").get_secret_value() == "sk-typed"
    assert profile.plain_fields() == {"openai_organization_id": "org-1"}
    # The sign-up trigger stores '' for every key not typed: not set.
    with pytest.raises(ApiKeyNotFound, match="Anthropic API Key not found"):
        check_api_key(profile.get("anthropic_api_key"), "Anthropic")


async def test_the_server_environment_overlays_the_stored_keys(
    store: ChatbotUiStore, current_schema: str
) -> None:
    subject = await sign_up(current_schema, openai_api_key="sk-typed", groq_api_key="gsk-typed")
    env = {"OPENAI_API_KEY": SecretStr("sk-team"), "ANTHROPIC_API_KEY": SecretStr("ant-team")}
    profile = await store.load_profile(user_id=1, subject=subject, provider_env=env)
    values = {k: v.get_secret_value() for k, v in profile.values.items()}
    assert values == {
        "openai_api_key": "sk-team",
        "anthropic_api_key": "ant-team",
        "groq_api_key": "gsk-typed",
    }


async def test_a_change_in_chatbot_ui_is_read_on_the_next_load(
    store: ChatbotUiStore, current_schema: str
) -> None:
    subject = await sign_up(current_schema, mistral_api_key="old")
    before = await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)
    conn = await asyncpg.connect(current_schema)
    await conn.execute(
        "UPDATE public.profiles SET mistral_api_key = 'new' WHERE user_id = $1", uuid.UUID(subject)
    )
    await conn.close()
    after = await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)
    assert [p.values["mistral_api_key"].get_secret_value() for p in (before, after)] == [
        "old",
        "new",
    ]


@pytest.mark.parametrize(
    "subject", [str(uuid.uuid4()), "not-a-uuid", "", "' OR 1=1 --", "x" * 5000]
)
async def test_a_user_without_a_profile_row_is_404(store: ChatbotUiStore, subject: str) -> None:
    with pytest.raises(NotFound, match=r"^Profile not found$"):
        await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)


async def test_a_key_that_cannot_be_sent_in_a_header_counts_as_not_set(
    store: ChatbotUiStore, current_schema: str
) -> None:
    subject = await sign_up(
        current_schema, openai_api_key="sk-a\nb", anthropic_api_key="  ant-padded \n"
    )
    profile = await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)
    assert profile.get("openai_api_key") is None
    assert profile.values["anthropic_api_key"].get_secret_value() == "ant-padded"


async def test_an_older_schema_without_groq_reads_it_as_empty(schema_without_groq: str) -> None:
    store = await open_store(schema_without_groq)
    try:
        subject = await sign_up(schema_without_groq, openai_api_key="sk-old-schema")
        profile = await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)
        assert profile.get("groq_api_key") is None
        assert profile.values["openai_api_key"].get_secret_value() == "sk-old-schema"
        team = {"GROQ_API_KEY": SecretStr("gsk-team")}
        overlaid = await store.load_profile(user_id=1, subject=subject, provider_env=team)
        assert overlaid.values["groq_api_key"].get_secret_value() == "gsk-team"
    finally:
        await store.close()


async def test_a_users_own_custom_model_is_theirs_to_use(
    store: ChatbotUiStore, current_schema: str
) -> None:
    owner = await sign_up(current_schema)
    model_id = await add_model(current_schema, owner=owner, sharing="private")
    model = await store.load_custom_model(subject=owner, custom_model_id=model_id)
    assert (model.id, model.name, model.base_url, model.model_id, model.context_length) == (
        model_id,
        "Llama",
        "http://llm.local:11434/v1",
        "llama3.1:8b",
        8192,
    )
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "sk-model"
    # The id as the front end may spell it: upper case.
    again = await store.load_custom_model(subject=owner.upper(), custom_model_id=model_id.upper())
    assert again.id == model_id


async def test_another_users_private_model_is_not_found(
    store: ChatbotUiStore, current_schema: str
) -> None:
    # Chatbot UI's own custom route reads any model by id with the service role;
    # chatgate applies the rule its row-level security states.
    owner, other = await sign_up(current_schema), await sign_up(current_schema)
    private = await add_model(current_schema, owner=owner, sharing="private")
    with pytest.raises(NotFound, match=r"^Custom model not found$"):
        await store.load_custom_model(subject=other, custom_model_id=private)


@pytest.mark.parametrize("sharing", ["public", "unlisted"])
async def test_a_shared_model_may_be_used_by_anyone_signed_in(
    store: ChatbotUiStore, current_schema: str, sharing: str
) -> None:
    owner, other = await sign_up(current_schema), await sign_up(current_schema)
    shared = await add_model(current_schema, owner=owner, sharing=sharing, api_key="")
    model = await store.load_custom_model(subject=other, custom_model_id=shared)
    assert model.api_key is None  # '' is a server that needs no key


async def test_a_users_own_custom_models_are_listed_oldest_first(
    store: ChatbotUiStore, current_schema: str
) -> None:
    owner, other = await sign_up(current_schema), await sign_up(current_schema)
    first = await add_model(current_schema, owner=owner, sharing="private", name="Llama")
    second = await add_model(current_schema, owner=owner, sharing="public", name="Qwen")
    await add_model(current_schema, owner=other, sharing="public", name="Theirs")
    await add_model(current_schema, owner=other, sharing="private", name="Secret")
    # The other user's models, shared or not, are theirs: in their list only.
    listed = await store.list_custom_models(subject=owner.upper())
    assert [(model.id, model.name) for model in listed] == [(first, "Llama"), (second, "Qwen")]
    assert all(model.created_at is not None for model in listed)
    theirs = await store.list_custom_models(subject=other)
    assert [model.name for model in theirs] == ["Theirs", "Secret"]
    assert await store.list_custom_models(subject="not-a-uuid") == []


@pytest.mark.parametrize(
    "custom_model_id", [str(uuid.uuid4()), "not-a-uuid", "", "1; DROP TABLE models", "9" * 100]
)
async def test_unknown_or_malformed_model_ids_are_not_found(
    store: ChatbotUiStore, current_schema: str, custom_model_id: str
) -> None:
    owner = await sign_up(current_schema)
    with pytest.raises(NotFound, match=r"^Custom model not found$"):
        await store.load_custom_model(subject=owner, custom_model_id=custom_model_id)


async def test_without_the_setting_there_is_no_chatbot_ui_store() -> None:
    assert ChatbotUiStore.from_settings(Settings()) is None


async def test_an_unreachable_database_is_a_503() -> None:
    db = ChatbotUiDatabase.connect("postgresql://postgres@127.0.0.1:9/none")
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            await db.start()
    finally:
        await db.close()
    assert caught.value.status == 503
    assert caught.value.message == "Chatbot UI's database is unavailable; try again shortly"


async def test_a_database_without_chatbot_uis_tables_is_refused_at_start() -> None:
    db = ChatbotUiDatabase.connect(ADMIN_URL)
    try:
        with pytest.raises(ChatbotUiSchemaError, match=r"public\.profiles"):
            await db.start()
    finally:
        await db.close()


READER_GRANTS = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT (user_id, openai_api_key, openai_organization_id, anthropic_api_key,
    google_gemini_api_key, mistral_api_key, groq_api_key, perplexity_api_key,
    openrouter_api_key, azure_openai_api_key, azure_openai_endpoint,
    azure_openai_35_turbo_id, azure_openai_45_turbo_id, azure_openai_45_vision_id,
    azure_openai_embeddings_id) ON public.profiles TO {role};
GRANT SELECT (id, user_id, sharing, base_url, api_key, model_id, name, context_length,
    created_at) ON public.models TO {role};
"""


@pytest.mark.parametrize("bypass_rls", [True, False])
async def test_a_role_reading_only_the_named_columns_is_enough(
    current_schema: str, bypass_rls: bool
) -> None:
    # The role README.md suggests: it sees every row only when it bypasses row-level security.
    role = "chatgate_reader_" + secrets.token_hex(4)
    conn = await asyncpg.connect(current_schema)
    try:
        await conn.execute(f"CREATE ROLE {role} LOGIN {'BYPASSRLS' if bypass_rls else ''}")
        await conn.execute(READER_GRANTS.format(role=role))
        subject = await sign_up(current_schema, openai_api_key="sk-granted")
        owner_model = await add_model(current_schema, owner=subject, sharing="private")
        store = await open_store(current_schema.replace("postgres@", f"{role}@"))
        try:
            if bypass_rls:
                profile = await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)
                assert profile.values["openai_api_key"].get_secret_value() == "sk-granted"
                model = await store.load_custom_model(subject=subject, custom_model_id=owner_model)
                assert model.model_id == "llama3.1:8b"
                listed = await store.list_custom_models(subject=subject)
                assert [(m.id, m.name) for m in listed] == [(owner_model, "Llama")]
            else:
                with pytest.raises(NotFound):
                    await store.load_profile(user_id=1, subject=subject, provider_env=NO_ENV)
        finally:
            await store.close()
    finally:
        await conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
        await conn.close()


async def test_a_role_granted_before_created_at_was_read_still_lists(current_schema: str) -> None:
    # The grant an earlier README gave: every column but created_at.
    role = "chatgate_reader_" + secrets.token_hex(4)
    grants = READER_GRANTS.replace(",\n    created_at)", ")").format(role=role)
    assert "created_at" not in grants
    conn = await asyncpg.connect(current_schema)
    try:
        await conn.execute(f"CREATE ROLE {role} LOGIN BYPASSRLS")
        await conn.execute(grants)
        subject = await sign_up(current_schema)
        first = await add_model(current_schema, owner=subject, sharing="private", name="B")
        second = await add_model(current_schema, owner=subject, sharing="private", name="A")
        store = await open_store(current_schema.replace("postgres@", f"{role}@"))
        try:
            listed = await store.list_custom_models(subject=subject)
        finally:
            await store.close()
    finally:
        await conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
        await conn.close()
    assert {(m.id, m.name) for m in listed} == {(first, "B"), (second, "A")}
    assert all(m.created_at is None for m in listed)
