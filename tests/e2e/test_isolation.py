"""User B tries every door to user A's keys and tokens; none may open."""

from __future__ import annotations

import httpx
import pytest

from chatgate.auth import hash_token
from tests.e2e.conftest import CHAT_PATH, Server, Upstream, chat_body

A_KEY = "sk-alice-isolated-key-0600"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice_and_bob(server: Server) -> tuple[str, str]:
    return server.create_user(openai_key=A_KEY, org="org-alice"), server.create_user()


def test_bob_sees_only_his_own_profile(server: Server, alice_and_bob: tuple[str, str]) -> None:
    _, bob = alice_and_bob
    for query in ("", "?user_id=1", "?username=alice"):
        shown = httpx.get(server.base_url + "/api/profile" + query, headers=auth(bob)).json()
        assert shown["openai_api_key"] is None
        assert shown["openai_organization_id"] is None
        assert "0600" not in str(shown)


@pytest.mark.parametrize("field", ["user_id", "username", "id"])
def test_bob_cannot_point_a_profile_update_at_alice(
    server: Server, alice_and_bob: tuple[str, str], upstream: Upstream, field: str
) -> None:
    alice, bob = alice_and_bob
    response = httpx.patch(
        server.base_url + "/api/profile",
        json={field: 1, "openai_api_key": "sk-bob-overwrite-0601"},
        headers=auth(bob),
    )
    assert response.status_code == 400
    assert (
        httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=auth(alice)).status_code
        == 200
    )
    assert upstream.last_request()["headers"]["Authorization"] == f"Bearer {A_KEY}"


def test_bob_cannot_chat_on_alices_key(server: Server, alice_and_bob: tuple[str, str]) -> None:
    _, bob = alice_and_bob
    response = httpx.post(
        server.base_url + CHAT_PATH + "?user_id=1",
        json={**chat_body(), "userId": 1, "profile": {"openai_api_key": "x"}},
        headers=auth(bob),
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("OpenAI API Key not found")


def test_bob_can_neither_list_nor_revoke_alices_tokens(
    server: Server, alice_and_bob: tuple[str, str]
) -> None:
    alice, bob = alice_and_bob
    alice_tokens = httpx.get(server.base_url + "/api/tokens", headers=auth(alice)).json()
    bob_tokens = httpx.get(server.base_url + "/api/tokens", headers=auth(bob)).json()
    assert {t["id"] for t in alice_tokens}.isdisjoint({t["id"] for t in bob_tokens})
    for token in alice_tokens:
        revoke = httpx.delete(server.base_url + f"/api/tokens/{token['id']}", headers=auth(bob))
        assert revoke.status_code == 404
    assert httpx.get(server.base_url + "/api/profile", headers=auth(alice)).status_code == 200


def test_what_is_stored_of_a_token_is_no_token(
    server: Server, alice_and_bob: tuple[str, str]
) -> None:
    alice, _ = alice_and_bob
    for guess in (hash_token(alice), alice[:-1], alice.upper(), "1"):
        response = httpx.get(server.base_url + "/api/profile", headers=auth(guess))
        assert response.status_code == 401


def test_new_tokens_are_long_and_unguessable(
    server: Server, alice_and_bob: tuple[str, str]
) -> None:
    alice, _ = alice_and_bob
    made = [
        httpx.post(server.base_url + "/api/tokens", json={}, headers=auth(alice)).json()["token"]
        for _ in range(3)
    ]
    server.secrets_used.update(made)
    assert len(set(made)) == 3
    assert all(len(token) >= 43 + len("cg_") for token in made)  # 256 bits, base64url
