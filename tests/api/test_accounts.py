"""A user's own profile, tokens and custom models through the in-process app:
what each shows, and that one unreadable stored value spoils nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from chatgate.app import create_app
from chatgate.profiles import update_profile
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from tests.api.conftest import new_user

CHAT = {"chatSettings": {"model": "gpt-4o"}, "messages": [{"role": "user", "content": "hi"}]}
# A sealed value that no configured secret opens (say, one sealed under a secret since removed).
FOREIGN = "cg1.0000.AAAA"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_unreadable_key_is_shown_as_such_and_spoils_no_other_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id, token = await new_user(app)
    runtime: Runtime = app.state.runtime
    await runtime.db.update_profile(user_id=user_id, sealed={"anthropic_api_key": FOREIGN})

    shown = await client.get("/api/profile", headers=auth(token))
    assert shown.status_code == 200
    assert shown.json()["anthropic_api_key"] == "unreadable: enter it again"

    patched = await client.patch(
        "/api/profile", json={"openai_api_key": "sk-still-works-0601"}, headers=auth(token)
    )
    assert patched.status_code == 200
    assert patched.json()["openai_api_key"] == "****0601"
    assert patched.json()["anthropic_api_key"] == "unreadable: enter it again"

    refused = await client.post("/api/chat/anthropic", json=CHAT, headers=auth(token))
    assert refused.status_code == 500
    assert "Please enter it again in your profile settings" in refused.json()["message"]


async def test_an_unreadable_custom_model_key_is_listed_and_marked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id, token = await new_user(app)
    runtime: Runtime = app.state.runtime
    fields = {"name": "Llama", "base_url": "http://127.0.0.1:9/v1", "model_id": "llama"}
    made = [
        await client.post(
            "/api/models",
            json={**fields, "context_length": 8192, "api_key": f"sk-local-model-060{n}"},
            headers=auth(token),
        )
        for n in (2, 3)
    ]
    broken = made[0].json()["id"]
    await runtime.db.update_custom_model(
        user_id=user_id, custom_model_id=broken, values={"api_key": FOREIGN}
    )

    listed = await client.get("/api/models", headers=auth(token))
    assert listed.status_code == 200
    assert [m["api_key"] for m in listed.json()] == ["unreadable: enter it again", "****0603"]
    one = await client.get(f"/api/models/{broken}", headers=auth(token))
    assert one.json()["api_key"] == "unreadable: enter it again"

    chat = await client.post(
        "/api/chat/custom", json={**CHAT, "customModelId": broken}, headers=auth(token)
    )
    assert chat.status_code == 500
    assert "enter it again in the model's settings" in chat.json()["message"]


async def test_a_token_label_with_a_line_break_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await new_user(app)
    for label in ("laptop\n2\tforged\t", "bell\x07"):
        response = await client.post("/api/tokens", json={"label": label}, headers=auth(token))
        assert response.status_code == 400
        assert response.json()["message"] == "label: must be printable text on one line"
    listed = await client.get("/api/tokens", headers=auth(token))
    assert [t["label"] for t in listed.json()] == [""]


async def test_dates_carry_their_offset(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, token = await new_user(app)
    made = await client.post("/api/tokens", json={"label": "phone"}, headers=auth(token))
    await client.get("/api/profile", headers=auth(made.json()["token"]))  # sets last_used_at
    for listed in (await client.get("/api/tokens", headers=auth(token))).json():
        assert datetime.fromisoformat(listed["created_at"]).utcoffset() is not None
        if listed["last_used_at"] is not None:
            assert datetime.fromisoformat(listed["last_used_at"]).utcoffset() is not None


async def test_another_users_token_cannot_be_revoked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, alice = await new_user(app, "alice")
    _, bob = await new_user(app, "bob")
    bobs_id = (await client.get("/api/tokens", headers=auth(bob))).json()[0]["id"]
    refused = await client.delete(f"/api/tokens/{bobs_id}", headers=auth(alice))
    assert refused.status_code == 404
    assert (await client.get("/api/tokens", headers=auth(bob))).status_code == 200
    assert (await client.delete(f"/api/tokens/{bobs_id}", headers=auth(bob))).status_code == 204
    assert (await client.get("/api/tokens", headers=auth(bob))).status_code == 401


@asynccontextmanager
async def app_with_env(tmp_path: Path, **provider_env: str) -> AsyncIterator[FastAPI]:
    """The app with server-wide provider variables (OPENAI_API_KEY and friends)."""
    settings = Settings(
        data_dir=tmp_path,
        provider_env={name: SecretStr(value) for name, value in provider_env.items()},
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def client_of(application: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://chatgate")


async def test_the_servers_azure_key_never_goes_to_a_users_endpoint(tmp_path: Path) -> None:
    async with app_with_env(tmp_path, AZURE_OPENAI_API_KEY="operator-azure-key-0604") as app:
        user_id, token = await new_user(app)
        runtime: Runtime = app.state.runtime
        await update_profile(
            db=runtime.db,
            keyring=runtime.keyring,
            user_id=user_id,
            changes={
                "azure_openai_endpoint": "http://127.0.0.1:9/somewhere-of-the-users",
                "azure_openai_35_turbo_id": "users-deployment",
            },
        )
        async with client_of(app) as client:
            body = {**CHAT, "chatSettings": {"model": "gpt-3.5-turbo"}}
            response = await client.post("/api/chat/azure", json=body, headers=auth(token))
            shown = (await client.get("/api/profile", headers=auth(token))).json()
    assert response.status_code == 400
    assert response.json() == {"message": "Azure resources not found"}
    assert shown["azure_openai_api_key"] == "set by the server"


async def test_the_servers_keys_are_not_shown_even_masked(tmp_path: Path) -> None:
    async with app_with_env(tmp_path, OPENAI_API_KEY="sk-operator-team-key-0605") as app:
        _, token = await new_user(app)
        async with client_of(app) as client:
            shown = (await client.get("/api/profile", headers=auth(token))).json()
    assert shown["openai_api_key"] == "set by the server"
    assert shown["anthropic_api_key"] is None


@pytest.mark.parametrize(
    "endpoint", ["http://[::1", "https://x.openai.azure.com:99999", "https://x/?", "file:///etc"]
)
async def test_an_azure_endpoint_that_is_no_url_is_refused_when_saved(
    client: httpx.AsyncClient, app: FastAPI, endpoint: str
) -> None:
    _, token = await new_user(app)
    response = await client.patch(
        "/api/profile",
        json={"azure_openai_endpoint": endpoint},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("azure_openai_endpoint ")
