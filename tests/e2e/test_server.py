"""Profiles, server-wide keys, upstream trouble, secrets at rest, and the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatgate.providers import PROVIDERS
from tests.e2e.conftest import (
    CHAT_PATH,
    Server,
    Upstream,
    chat_body,
    free_port,
    read_answer,
    run_server,
)


@pytest.fixture(scope="module")
def env_key_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("env-keys")
    extra = {"OPENAI_API_KEY": "sk-team-wide-0100", "OPENAI_ORGANIZATION_ID": "org-team"}
    yield from run_server(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", extra)


@pytest.fixture(scope="module")
def impatient_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("impatient")
    extra = {"CHATGATE_UPSTREAM_FIRST_BYTE_TIMEOUT": "0.5", "CHATGATE_UPSTREAM_IDLE_TIMEOUT": "0.5"}
    yield from run_server(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", extra)


@pytest.fixture(scope="module")
def unreachable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("unreachable")
    root = f"http://127.0.0.1:{free_port()}"
    nowhere = Upstream(url=root + "/v1", root=root)
    extra = {"CHATGATE_UPSTREAM_MAX_RETRIES": "1"}
    yield from run_server(tmp, nowhere, f"sqlite:///{tmp / 'chatgate.db'}", extra)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_server_keys_overlay_every_profile(env_key_server: Server, upstream: Upstream) -> None:
    with_own_key = env_key_server.create_user(openai_key="sk-own-key-0101", org="org-own")
    without_key = env_key_server.create_user()
    for token in (with_own_key, without_key):
        response = httpx.post(
            env_key_server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token)
        )
        assert response.status_code == 200
        headers = upstream.last_request()["headers"]
        assert headers["Authorization"] == "Bearer sk-team-wide-0100"
        assert headers["OpenAI-Organization"] == "org-team"
    keys = httpx.get(env_key_server.base_url + "/api/keys").json()["isUsingEnvKeyMap"]
    assert keys["openai"] is True
    assert keys["openai_organization_id"] is True
    assert keys["anthropic"] is False


def test_keys_report_nothing_from_the_environment_by_default(server: Server) -> None:
    keys = httpx.get(server.base_url + "/api/keys").json()["isUsingEnvKeyMap"]
    assert set(keys) >= {"openai", "anthropic", "google", "azure", "azure_openai_endpoint"}
    assert not any(keys.values())


def test_slow_upstream_times_out_with_504(impatient_server: Server) -> None:
    token = impatient_server.create_user(openai_key="sk-slow-0102")
    body = chat_body(f"#fake first_byte_delay_ms=3000 tag={time.monotonic_ns()}")
    response = httpx.post(
        impatient_server.base_url + CHAT_PATH, json=body, headers=auth(token), timeout=30
    )
    assert response.status_code == 504
    assert response.json()["message"].startswith("OpenAI did not answer in time")


def test_stalled_answer_is_cut_off(impatient_server: Server) -> None:
    token = impatient_server.create_user(openai_key="sk-stall-0103")
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        read_answer(impatient_server, token, chat_body("#fake stall_after=2"), into=[])
    assert time.monotonic() - started < 5


def test_unreachable_upstream_is_a_502(unreachable_server: Server) -> None:
    token = unreachable_server.create_user(openai_key="sk-nowhere-0104")
    response = httpx.post(
        unreachable_server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token), timeout=30
    )
    assert response.status_code == 502
    assert response.json() == {"message": "OpenAI could not be reached"}


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


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"openai_api_key": "k" * 1001}, "openai_api_key"),
        ({"not_a_field": "x"}, "not_a_field"),
        ({}, "Nothing to change"),
    ],
)
def test_profile_api_rejects_bad_changes(
    server: Server, change: dict[str, str], fragment: str
) -> None:
    response = httpx.patch(
        server.base_url + "/api/profile", json=change, headers=auth(server.create_user())
    )
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_profile_api_needs_a_token(server: Server) -> None:
    response = httpx.get(server.base_url + "/api/profile")
    assert response.status_code == 401
    assert "token" in response.json()["message"]


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(server.base_url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.base_url + "/readyz").json() == {"status": "ready"}


def test_openapi_page_documents_every_route(server: Server) -> None:
    schema = httpx.get(server.base_url + "/openapi.json").json()
    for provider in PROVIDERS:
        assert f"/api/chat/{provider.name}" in schema["paths"]
    custom_body = schema["paths"]["/api/chat/custom"]["post"]["requestBody"]
    assert custom_body["content"]["application/json"]["schema"]["$ref"].endswith("CustomChatBody")
    assert "customModelId" in schema["components"]["schemas"]["CustomChatBody"]["required"]
    assert {"/api/profile", "/api/models", "/api/models/{custom_model_id}"} <= set(schema["paths"])
    assert httpx.get(server.base_url + "/docs").status_code == 200


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


def test_cli_rejects_a_bad_database_url(server: Server, tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**server.env, "CHATGATE_DATABASE_URL": "mysql://nobody@nowhere/db"}
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
    server.cli("user", "create", name)
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
