"""Custom models: what the API refuses, and why. Making, using and sharing them is
tested against a real server on each database: tests/e2e/test_custom_models.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Gate, auth


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"base_url": "ftp://files.example/v1"}, "base_url: must be an http:// or https:// URL"),
        ({"base_url": "localhost:11434/v1"}, "base_url: must be an http:// or https:// URL"),
        ({"base_url": "http://h/v1?key=1"}, "base_url: must not have a query"),
        ({"base_url": "http://me:secret@h/v1"}, "base_url: must not hold credentials"),
        ({"name": ""}, "name:"),
        ({"context_length": 0}, "context_length:"),
        ({"model_id": "a\nb"}, "model_id: must be printable text on one line"),
        ({"api_key": "sk-\x0bvt"}, "api_key: must be printable text on one line"),
        ({"api_key": "k" * 1001}, "api_key:"),
        ({"owner": "someone"}, "owner:"),
    ],
)
async def test_bad_model_fields_are_explained(
    gate: Gate, fields: dict[str, Any], fragment: str
) -> None:
    body = {
        "name": "Local",
        "base_url": "http://127.0.0.1:11434/v1",
        "model_id": "llama3",
        "context_length": 8192,
        **fields,
    }
    token = await gate.create_user()
    response = await gate.client.post("/api/models", json=body, headers=auth(token))
    assert response.status_code == 400
    assert fragment in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "Nothing to change: send at least one field"),
        ({"name": None}, "name cannot be cleared"),
        ({"base_url": "nope"}, "base_url: must be an http:// or https:// URL"),
    ],
)
async def test_bad_model_changes_are_explained(
    gate: Gate, change: dict[str, Any], message: str
) -> None:
    token = await gate.create_user()
    model = await gate.create_custom_model(token, base_url=gate.upstream.url)
    response = await gate.client.patch(
        f"/api/models/{model['id']}", json=change, headers=auth(token)
    )
    assert response.status_code == 400
    assert response.json() == {"message": message}


@pytest.mark.parametrize(
    ("custom_model_id", "message"),
    [(None, "customModelId is missing"), (7, "customModelId must be a non-empty string")],
)
async def test_custom_chat_needs_a_model_id(gate: Gate, custom_model_id: Any, message: str) -> None:
    body: dict[str, Any] = {
        "chatSettings": {"model": "m"},
        "messages": [{"role": "user", "content": "Hello"}],
    }
    if custom_model_id is not None:
        body["customModelId"] = custom_model_id
    token = await gate.create_user()
    response = await gate.client.post("/api/chat/custom", json=body, headers=auth(token))
    assert response.status_code == 400
    assert response.json() == {"message": message}


async def test_models_api_needs_a_token(gate: Gate) -> None:
    response = await gate.client.get("/api/models")
    assert response.status_code == 401
    assert "token" in response.json()["message"]
