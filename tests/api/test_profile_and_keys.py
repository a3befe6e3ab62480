"""Server-wide keys, profile changes refused, and the API's own description."""

from __future__ import annotations

import pytest

from chatgate.providers import PROVIDERS
from tests.api.conftest import CHAT_PATH, Gate, OpenGate, auth, chat_body, provider_env

TEAM_KEYS = {"OPENAI_API_KEY": "sk-team-wide-0100", "OPENAI_ORGANIZATION_ID": "org-team"}


async def test_server_keys_overlay_every_profile(open_gate: OpenGate) -> None:
    async with open_gate(provider_env=provider_env(TEAM_KEYS)) as gate:
        gate.secrets_used.add(TEAM_KEYS["OPENAI_API_KEY"])
        with_own_key = await gate.create_user(openai_key="sk-own-key-0101", org="org-own")
        without_key = await gate.create_user()
        for token in (with_own_key, without_key):
            response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
            assert response.status_code == 200
            headers = (await gate.upstream.last_request())["headers"]
            assert headers["Authorization"] == "Bearer sk-team-wide-0100"
            assert headers["OpenAI-Organization"] == "org-team"
        keys = (await gate.client.get("/api/keys")).json()["isUsingEnvKeyMap"]
    assert keys["openai"] is True
    assert keys["openai_organization_id"] is True
    assert keys["anthropic"] is False


async def test_keys_report_nothing_from_the_environment_by_default(gate: Gate) -> None:
    keys = (await gate.client.get("/api/keys")).json()["isUsingEnvKeyMap"]
    assert set(keys) >= {"openai", "anthropic", "google", "azure", "azure_openai_endpoint"}
    assert not any(keys.values())


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"openai_api_key": "k" * 1001}, "openai_api_key"),
        ({"not_a_field": "x"}, "not_a_field"),
        ({}, "Nothing to change"),
    ],
)
async def test_profile_api_rejects_bad_changes(
    gate: Gate, change: dict[str, str], fragment: str
) -> None:
    token = await gate.create_user()
    response = await gate.client.patch("/api/profile", json=change, headers=auth(token))
    assert response.status_code == 400
    assert fragment in response.json()["message"]


async def test_profile_api_needs_a_token(gate: Gate) -> None:
    response = await gate.client.get("/api/profile")
    assert response.status_code == 401
    assert "token" in response.json()["message"]


async def test_openapi_page_documents_every_route(gate: Gate) -> None:
    schema = (await gate.client.get("/openapi.json")).json()
    for provider in PROVIDERS:
        assert f"/api/chat/{provider.name}" in schema["paths"]
    custom_body = schema["paths"]["/api/chat/custom"]["post"]["requestBody"]
    assert custom_body["content"]["application/json"]["schema"]["$ref"].endswith("CustomChatBody")
    assert "customModelId" in schema["components"]["schemas"]["CustomChatBody"]["required"]
    assert {"/api/profile", "/api/models", "/api/models/{custom_model_id}"} <= set(schema["paths"])
    assert (await gate.client.get("/docs")).status_code == 200
