"""Errors the in-process app answers without any upstream."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from chatgate.app import create_app
from chatgate.profiles import update_profile
from chatgate.providers import Provider
from chatgate.providers.chat import Access, ChatRequest, UpstreamCall
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from chatgate.web.access_log import AccessLog
from chatgate.web.chat_route import ChatEndpoint
from chatgate.web.credentials import Credentials
from tests.api.conftest import new_user

CHAT = {"chatSettings": {"model": "gpt-4o"}, "messages": [{"role": "user", "content": "hi"}]}


async def test_a_key_sealed_under_another_secret_asks_to_enter_it_again(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    user_id, token = await new_user(app)
    runtime: Runtime = app.state.runtime
    # A stored key that no longer opens (say, the database restored under another secret).
    await runtime.db.update_profile(user_id=user_id, sealed={"openai_api_key": "cg1.0000.AAAA"})
    response = await client.post(
        "/api/chat/openai", json=CHAT, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 500
    assert "Please enter it again in your profile settings" in response.json()["message"]
    request_id = response.headers["x-request-id"]
    assert any(getattr(record, "request_id", None) == request_id for record in caplog.records)


async def test_wrong_method_and_unknown_path_answer_json(client: httpx.AsyncClient) -> None:
    wrong_method = await client.get("/api/chat/openai")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"message": "Method Not Allowed"}
    unknown = await client.get("/api/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Not Found"}


async def test_profile_validation_names_the_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, token = await new_user(app)
    response = await client.patch(
        "/api/profile",
        json={"openai_api_key": 42},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("openai_api_key: ")
    not_json = await client.patch(
        "/api/profile", content=b"{", headers={"Authorization": f"Bearer {token}"}
    )
    assert not_json.status_code == 400


async def test_openapi_documents_the_chat_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    chat = schema["paths"]["/api/chat/openai"]["post"]
    assert set(chat["responses"]) >= {"200", "400", "401", "413", "429", "502", "504"}
    body_ref = chat["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(body["properties"]) == {"chatSettings", "messages"}


async def test_database_down_is_a_503_and_not_ready(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql://postgres@127.0.0.1:1/none",
        secret_key=SecretStr("a-secret-for-a-database-that-is-down"),
        migrate_on_start=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"message": "The database is unavailable; try again shortly"}
            chat = await client.post(
                "/api/chat/openai", json=CHAT, headers={"Authorization": "Bearer cg_x"}
            )
            assert chat.status_code == 503


def explode(_chat: ChatRequest, _access: Access) -> UpstreamCall:
    raise RuntimeError("a bug in a provider module")


async def test_anything_unexpected_is_a_500_without_details(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    user_id, token = await new_user(app)
    runtime: Runtime = app.state.runtime
    await update_profile(
        db=runtime.db,
        keyring=runtime.keyring,
        user_id=user_id,
        changes={"openai_api_key": "sk-present-0700"},
    )
    broken_provider = Provider("broken", "Broken", "openai_api_key", explode)
    broken = ChatEndpoint(runtime, broken_provider, credentials=Credentials(runtime))
    transport = httpx.ASGITransport(app=AccessLog(broken, metrics=runtime.metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
        response = await client.post(
            "/api/chat/broken", json=CHAT, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 500
    assert response.json() == {"message": "An unexpected error occurred"}
    assert "a bug" not in response.text
    request_id = response.headers["x-request-id"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert any(r.exc_info and "a bug in a provider module" in str(r.exc_info[1]) for r in logged)
