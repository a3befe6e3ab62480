"""With CHATGATE_SUPABASE_DATABASE_URL: a Chatbot UI user chats with the keys and
custom models already in Chatbot UI's tables (the fixture schema on the local
PostgreSQL), through the app as the front end calls it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from chatgate.fake import reply_pieces
from tests.api.conftest import CHAT_PATH, Gate, OpenGate, auth, chat_body
from tests.api.test_v1 import sdk
from tests.chatbot_ui_database import add_model, set_key, sign_up
from tests.supabase_session import SECRET, SUPABASE_URL, access_token, plain_session_cookie

pytestmark = pytest.mark.postgres

FULL_ANSWER = "".join(reply_pieces(12))


def in_store_mode(
    open_gate: OpenGate, url: str, **changes: Any
) -> AbstractAsyncContextManager[Gate]:
    return open_gate(
        supabase_url=SUPABASE_URL,
        supabase_jwt_secret=SecretStr(SECRET),
        supabase_database_url=SecretStr(url),
        **changes,
    )


@pytest.fixture
async def gate(open_gate: OpenGate, current_schema: str) -> AsyncIterator[Gate]:
    async with in_store_mode(open_gate, current_schema) as opened:
        yield opened


def cookie_of(subject: str) -> dict[str, str]:
    return {"Cookie": plain_session_cookie(access_token(subject))}


def front_end(subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "content": json.dumps(body or chat_body()),
        "headers": {"Content-Type": "text/plain;charset=UTF-8", **cookie_of(subject)},
    }


async def test_the_keys_typed_into_chatbot_ui_answer_its_front_end(
    gate: Gate, current_schema: str
) -> None:
    subject = await sign_up(current_schema, openai_api_key="sk-in-chatbot-ui-0001")
    gate.secrets_used.add("sk-in-chatbot-ui-0001")
    response = await gate.client.post(CHAT_PATH, **front_end(subject))
    assert response.status_code == 200, response.text
    assert response.text == FULL_ANSWER
    sent = (await gate.upstream.last_request())["headers"]
    assert sent["Authorization"] == "Bearer sk-in-chatbot-ui-0001"
    shown = (await gate.client.get("/api/profile", headers=cookie_of(subject))).json()
    assert shown["openai_api_key"].endswith("0001")


async def test_a_key_not_typed_is_not_set(gate: Gate, current_schema: str) -> None:
    subject = await sign_up(current_schema)  # the sign-up trigger stores '' for each key
    response = await gate.client.post(CHAT_PATH, **front_end(subject))
    assert response.status_code == 400
    assert response.json() == {
        "message": "OpenAI API Key not found. Please set it in your profile settings."
    }


async def test_a_user_without_a_profile_row_is_told_so(gate: Gate) -> None:
    response = await gate.client.post(CHAT_PATH, **front_end(str(uuid.uuid4())))
    assert response.status_code == 404
    assert response.json() == {"message": "Profile not found"}


async def test_profiles_are_changed_in_chatbot_ui_not_here(gate: Gate, current_schema: str) -> None:
    subject = await sign_up(current_schema)
    response = await gate.client.patch(
        "/api/profile", json={"openai_api_key": "sk-x"}, headers=cookie_of(subject)
    )
    assert response.status_code == 409
    assert response.json() == {"message": "Profiles are managed in Chatbot UI"}


async def test_users_made_with_the_cli_keep_chatgates_own_profiles(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-cli-user-0001")
    response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
    assert response.text == FULL_ANSWER
    change = await gate.client.patch(
        "/api/profile", json={"openai_api_key": "sk-cli-user-0002"}, headers=auth(token)
    )
    gate.secrets_used.add("sk-cli-user-0002")
    assert change.status_code == 200


async def test_a_token_of_a_chatbot_ui_user_reads_chatbot_uis_profile(
    gate: Gate, current_schema: str
) -> None:
    subject = await sign_up(current_schema, openai_api_key="sk-in-chatbot-ui-0002")
    gate.secrets_used.add("sk-in-chatbot-ui-0002")
    made = await gate.client.post("/api/tokens", json={}, headers=cookie_of(subject))
    token = made.json()["token"]
    gate.secrets_used.add(token)
    response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
    assert response.text == FULL_ANSWER
    sent = (await gate.upstream.last_request())["headers"]
    assert sent["Authorization"] == "Bearer sk-in-chatbot-ui-0002"


async def test_a_schema_without_groq_reads_its_key_as_not_set(
    open_gate: OpenGate, schema_without_groq: str
) -> None:
    subject = await sign_up(schema_without_groq, openai_api_key="sk-old-schema-0001")
    async with in_store_mode(open_gate, schema_without_groq) as gate:
        gate.secrets_used.add("sk-old-schema-0001")
        groq = await gate.client.post(
            "/api/chat/groq", **front_end(subject, chat_body(model="llama3-8b-8192"))
        )
        assert groq.status_code == 400
        assert groq.json()["message"].startswith("Groq API Key not found")
        openai = await gate.client.post(CHAT_PATH, **front_end(subject))
        assert openai.text == FULL_ANSWER


async def test_a_key_changed_in_chatbot_ui_is_used_after_the_cache_period(
    open_gate: OpenGate, current_schema: str
) -> None:
    subject = await sign_up(current_schema, openai_api_key="sk-before-0001")
    async with in_store_mode(open_gate, current_schema, identity_cache_seconds=4) as gate:
        gate.secrets_used.update({"sk-before-0001", "sk-after-0002"})

        async def key_sent() -> str:
            response = await gate.client.post(CHAT_PATH, **front_end(subject))
            assert response.status_code == 200, response.text
            sent: str = (await gate.upstream.last_request())["headers"]["Authorization"]
            return sent

        loaded = time.monotonic()
        assert await key_sent() == "Bearer sk-before-0001"
        await set_key(
            current_schema, subject=subject, column="openai_api_key", value="sk-after-0002"
        )
        assert await key_sent() == "Bearer sk-before-0001"  # within the cache period
        await asyncio.sleep(loaded + 4.2 - time.monotonic())
        assert await key_sent() == "Bearer sk-after-0002"


# Custom models --------------------------------------------------------------------


def custom_body(model_id: str) -> dict[str, Any]:
    return {**chat_body(model="whatever"), "customModelId": model_id}


@pytest.mark.parametrize("sharing", ["private", "public", "unlisted"])
@pytest.mark.parametrize("whose", ["own", "another's"])
async def test_custom_models_the_user_may_read_in_chatbot_ui_are_the_ones_they_may_use(
    gate: Gate, current_schema: str, sharing: str, whose: str
) -> None:
    caller = await sign_up(current_schema)
    owner = caller if whose == "own" else await sign_up(current_schema)
    model_id = await add_model(
        current_schema, owner=owner, sharing=sharing, base_url=gate.upstream.url + "/"
    )
    response = await gate.client.post(
        "/api/chat/custom", **front_end(caller, custom_body(model_id))
    )
    if whose == "another's" and sharing == "private":
        # Chatbot UI's own custom route would read it by id and use its key.
        assert response.status_code == 404
        assert response.json() == {"message": "Custom model not found"}
        assert await gate.upstream.requests() == []
    else:
        assert response.status_code == 200, response.text
        request = await gate.upstream.last_request()
        assert request["headers"]["Authorization"] == "Bearer sk-model"
        assert request["body"]["model"] == "llama3.1:8b"


@pytest.mark.parametrize("model_id", [str(uuid.uuid4()), "not-a-uuid", "1; DROP TABLE models"])
async def test_an_unknown_or_malformed_custom_model_id_is_not_found(
    gate: Gate, current_schema: str, model_id: str
) -> None:
    caller = await sign_up(current_schema)
    response = await gate.client.post(
        "/api/chat/custom", **front_end(caller, custom_body(model_id))
    )
    assert response.status_code == 404
    assert response.json() == {"message": "Custom model not found"}


async def test_custom_models_are_made_in_chatbot_ui_not_here(
    gate: Gate, current_schema: str
) -> None:
    subject = await sign_up(current_schema)
    body = {"name": "Local", "model_id": "m", "context_length": 4096, "base_url": "http://x/v1"}
    response = await gate.client.post("/api/models", json=body, headers=cookie_of(subject))
    assert response.status_code == 409
    assert response.json() == {"message": "Custom models are managed in Chatbot UI"}


async def test_v1_lists_and_answers_with_the_custom_models_made_in_chatbot_ui(
    gate: Gate, current_schema: str
) -> None:
    caller, other = await sign_up(current_schema), await sign_up(current_schema)
    await add_model(
        current_schema, owner=caller, sharing="private", base_url=gate.upstream.url + "/"
    )
    await add_model(current_schema, owner=other, sharing="public", name="Shared")
    async with sdk(gate, access_token(caller)) as client:
        listed = [model.id for model in (await client.models.list()).data]
        answer = await client.chat.completions.create(
            model="custom/Llama", messages=[{"role": "user", "content": "Hello"}]
        )
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(
                model="custom/Shared", messages=[{"role": "user", "content": "Hello"}]
            )
    assert listed == ["custom/Llama"]
    assert answer.choices[0].message.content == FULL_ANSWER
    request = await gate.upstream.last_request()
    assert request["headers"]["Authorization"] == "Bearer sk-model"
    assert request["body"]["model"] == "llama3.1:8b"
