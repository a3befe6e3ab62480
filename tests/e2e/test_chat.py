"""A token revoked with the CLI stops working on the running server, on each database.

What the chat routes answer is tested in-process: tests/api/test_chat.py and
tests/api/test_providers.py.
"""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import CHAT_PATH, Server, chat_body


def post_chat(server: Server, token: str | None, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(server.base_url + CHAT_PATH, json=body, headers=headers, timeout=30)


def test_revoked_token_stops_working(server: Server) -> None:
    name = "revoke-" + str(time.monotonic_ns())
    # `user create` and `profile set` have tests of their own.
    server.create_user(username=name, openai_key="sk-revoke-0016")
    token = server.cli("token", "create", name, "--label", "laptop").stdout.splitlines()[-1]
    server.secrets_used.add(token)
    assert post_chat(server, token, chat_body()).status_code == 200
    listing = server.cli("token", "list", name).stdout
    token_id = next(
        line.split("\t")[0] for line in listing.splitlines() if line.endswith("\tlaptop")
    )
    server.cli("token", "revoke", token_id)
    # Without Redis the running server learns of a CLI revocation when its
    # identity cache expires (CHATGATE_IDENTITY_CACHE_SECONDS, 1 by default).
    deadline = time.monotonic() + 3
    while post_chat(server, token, chat_body()).status_code != 401:
        assert time.monotonic() < deadline, "revoked token still accepted"
        time.sleep(0.25)
