"""Profiles stored on each database, readiness, secrets at rest, and the CLI.

Server-wide keys, upstream trouble and refused changes are tested in-process:
tests/api/test_profile_and_keys.py and tests/api/test_upstream_faults.py."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.e2e.conftest import (
    CHAT_PATH,
    Server,
    Upstream,
    chat_body,
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_profile_api_sets_masks_and_clears_keys(server: Server, upstream: Upstream) -> None:
    token = server.create_user()
    url = server.base_url + "/api/profile"
    server.secrets_used.add("sk-from-the-api-0105")
    response = httpx.patch(
        url,
        json={"openai_api_key": "sk-from-the-api-0105", "openai_organization_id": "org-api"},
        headers=auth(token),
    )
    assert response.status_code == 200
    assert response.json()["openai_api_key"] == "****0105"
    assert response.json()["openai_organization_id"] == "org-api"
    assert (
        httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token)).status_code
        == 200
    )
    assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-from-the-api-0105"

    cleared = httpx.patch(url, json={"openai_api_key": None}, headers=auth(token)).json()
    assert cleared["openai_api_key"] is None
    assert httpx.get(url, headers=auth(token)).json()["openai_organization_id"] == "org-api"
    assert (
        httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token)).status_code
        == 400
    )


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(server.base_url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.base_url + "/readyz").json() == {"status": "ready"}


def test_cli_explains_its_failures(server: Server) -> None:
    name = "dup-" + str(time.monotonic_ns())
    server.cli("user", "create", name)
    duplicate = server.cli("user", "create", name, check=False)
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    missing = server.cli("profile", "show", "nobody-" + name, check=False)
    assert missing.returncode != 0
    assert "no user named" in missing.stderr
    bad_url = server.cli("user", "list", check=False)
    assert bad_url.returncode == 0


def test_cli_rejects_a_bad_database_url(sqlite_server: Server, tmp_path: Path) -> None:
    import subprocess
    import sys

    # The server's own database plays no part: once is enough.
    env = {**sqlite_server.env, "CHATGATE_DATABASE_URL": "mysql://nobody@nowhere/db"}
    result = subprocess.run(
        [sys.executable, "-m", "chatgate", "user", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unsupported database" in result.stderr


def test_profile_show_masks_keys(server: Server) -> None:
    name = "show-" + str(time.monotonic_ns())
    server.create_user(username=name)  # `user create` has tests of its own
    server.secrets_used.add("sk-shown-masked-0106")
    server.cli("profile", "set", name, "--openai-api-key-stdin", input="sk-shown-masked-0106\n")
    shown = server.cli("profile", "show", name).stdout
    assert "openai_api_key: ****0106" in shown
    assert "sk-shown" not in shown


def test_no_secret_is_stored_or_logged_in_plain_text(server: Server) -> None:
    # Runs after the other tests of this module have used the server.
    token = server.create_user(openai_key="sk-never-in-plain-0107")
    assert (
        httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token)).status_code
        == 200
    )
    log = server.log.read_text()
    stored = b""
    if server.database_url.startswith("sqlite"):
        db_file = Path(server.database_url.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
        assert b"sk-never-in-plain-0107" not in stored
    for secret in server.secrets_used:
        assert secret not in log
        assert secret.encode() not in stored
