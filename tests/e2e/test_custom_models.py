"""Custom models: managed through /api/models and the CLI, usable only by their owner,
on each database. What the API refuses is tested in-process:
tests/api/test_custom_models.py."""

from __future__ import annotations

import time
from typing import Any

import httpx

from chatgate.fake import reply_pieces
from tests.e2e.conftest import Server, Upstream

FULL_ANSWER = "".join(reply_pieces(12))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat(server: Server, token: str, custom_model_id: Any) -> httpx.Response:
    body = {
        "chatSettings": {"model": "whatever-the-picker-says", "temperature": 0.5},
        "messages": [{"role": "user", "content": "Hello"}],
        "customModelId": custom_model_id,
    }
    return httpx.post(
        server.base_url + "/api/chat/custom", json=body, headers=auth(token), timeout=30
    )


def test_models_api_creates_lists_changes_and_deletes(server: Server, upstream: Upstream) -> None:
    token = server.create_user()
    models = server.base_url + "/api/models"
    created = server.create_custom_model(
        token,
        name="Team Llama",
        description="Our own server",
        base_url=upstream.url + "/",
        api_key="sk-team-llama-0301",
        model_id="llama3.1:8b",
        context_length=8192,
    )
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "Team Llama",
        "description": "Our own server",
        "base_url": upstream.url,
        "api_key": "****0301",
        "model_id": "llama3.1:8b",
        "context_length": 8192,
    }
    model_url = f"{models}/{created['id']}"
    assert httpx.get(models, headers=auth(token)).json() == [created]
    assert httpx.get(model_url, headers=auth(token)).json() == created

    response = chat(server, token, created["id"])
    assert response.status_code == 200
    assert response.text == FULL_ANSWER
    sent = upstream.last_request()
    assert sent["headers"]["Authorization"] == "Bearer sk-team-llama-0301"
    assert sent["body"]["model"] == "llama3.1:8b"

    server.secrets_used.add("sk-team-llama-0302")
    changed = httpx.patch(
        model_url,
        json={"name": "Renamed", "api_key": "sk-team-llama-0302"},
        headers=auth(token),
    ).json()
    assert (changed["name"], changed["api_key"], changed["model_id"]) == (
        "Renamed",
        "****0302",
        "llama3.1:8b",
    )
    assert chat(server, token, created["id"]).status_code == 200
    assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-team-llama-0302"

    assert httpx.delete(model_url, headers=auth(token)).status_code == 204
    assert httpx.get(models, headers=auth(token)).json() == []
    gone = chat(server, token, created["id"])
    assert gone.status_code == 404
    assert gone.json() == {"message": "Custom model not found"}


def test_a_model_without_key_sends_no_authorization(server: Server, upstream: Upstream) -> None:
    token = server.create_user()
    local = server.create_custom_model(token, base_url=upstream.root + "/local/v1")
    assert local["api_key"] is None
    response = chat(server, token, local["id"])
    assert response.status_code == 200
    assert response.text == FULL_ANSWER
    assert "Authorization" not in upstream.last_request()["headers"]

    keyed = server.create_custom_model(token, base_url=upstream.url, api_key="sk-cleared-0303")
    cleared = httpx.patch(
        f"{server.base_url}/api/models/{keyed['id']}", json={"api_key": None}, headers=auth(token)
    )
    assert cleared.json()["api_key"] is None
    # The fake's OpenAI path wants a key: without one, the user is told it is wrong.
    assert chat(server, token, keyed["id"]).status_code == 401
    assert "Authorization" not in upstream.last_request()["headers"]


def test_a_model_is_usable_only_by_its_owner(server: Server, upstream: Upstream) -> None:
    alice = server.create_user()
    bob = server.create_user()
    private = server.create_custom_model(alice, base_url=upstream.url, api_key="sk-alice-0304")
    model_url = f"{server.base_url}/api/models/{private['id']}"
    upstream.clear()

    not_found = {"message": "Custom model not found"}
    for someone_elses in (private["id"], "00000000-0000-4000-8000-000000000000"):
        response = chat(server, bob, someone_elses)
        assert (response.status_code, response.json()) == (404, not_found)
    assert upstream.requests() == []  # alice's key never left the server
    assert httpx.get(model_url, headers=auth(bob)).status_code == 404
    patched = httpx.patch(model_url, json={"base_url": "http://bob.example/v1"}, headers=auth(bob))
    assert patched.status_code == 404
    assert httpx.delete(model_url, headers=auth(bob)).status_code == 404
    assert httpx.get(server.base_url + "/api/models", headers=auth(bob)).json() == []

    assert httpx.get(model_url, headers=auth(alice)).json() == private
    assert chat(server, alice, private["id"]).status_code == 200
    assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-alice-0304"


def test_cli_manages_custom_models(server: Server, upstream: Upstream) -> None:
    name = "models-" + str(time.monotonic_ns())
    token = server.cli("user", "create", name).stdout.splitlines()[-1]
    server.secrets_used.update({token, "sk-from-the-cli-0305"})
    created = server.cli(
        "model",
        "create",
        name,
        "--name",
        "CLI model",
        "--base-url",
        upstream.url,
        "--model-id",
        "cli-model",
        "--context-length",
        "4096",
        "--api-key-stdin",
        input="sk-from-the-cli-0305\n",
    )
    model_id = created.stdout.splitlines()[-1]
    listing = server.cli("model", "list", name).stdout
    assert f"{model_id}\tCLI model\tcli-model\t{upstream.url}\t4096\t****0305" in listing
    assert "sk-from-the-cli" not in listing

    assert chat(server, token, model_id).status_code == 200
    assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-from-the-cli-0305"

    bad = server.cli(
        "model",
        "create",
        name,
        "--name",
        "x",
        "--base-url",
        "nope",
        "--model-id",
        "m",
        "--context-length",
        "1",
        check=False,
    )
    assert bad.returncode == 2
    assert "base_url: must be an http:// or https:// URL" in bad.stderr

    server.cli("model", "delete", name, model_id)
    assert chat(server, token, model_id).status_code == 404
    again = server.cli("model", "delete", name, model_id, check=False)
    assert again.returncode == 1
    assert "Custom model not found" in again.stderr
