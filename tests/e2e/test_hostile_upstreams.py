"""Upstreams that misbehave on purpose, against a real `chatgate serve`: what
a client sees, and what the metrics say."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chatgate.auth import hash_token
from chatgate.crypto import Keyring
from chatgate.db.engine import make_engine
from chatgate.db.queries import Database
from chatgate.fake import reply_pieces
from chatgate.profiles import seal_context
from tests.e2e.conftest import CHAT_PATH, Server, Upstream, chat_body, read_answer, serving

TIMEOUTS = {
    "CHATGATE_UPSTREAM_FIRST_BYTE_TIMEOUT": "1",
    "CHATGATE_UPSTREAM_IDLE_TIMEOUT": "1",
    "CHATGATE_UPSTREAM_MAX_RETRIES": "0",
}
# Users' own upstreams may not be private, but for localhost; the operator's may.
GUARDED = {
    **TIMEOUTS,
    "CHATGATE_DENY_PRIVATE_UPSTREAMS": "true",
    "CHATGATE_ALLOWED_UPSTREAM_HOSTS": "localhost",
}


@pytest.fixture(scope="module")
def guarded_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hostile")
    with serving(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", GUARDED) as server:
        yield server


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cut_off_count(server: Server) -> float:
    text = httpx.get(server.base_url + "/metrics").text
    found = re.search(r'^chatgate_answers_total\{outcome="cut_off"\} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def post(server: Server, token: str, body: Any, path: str = CHAT_PATH) -> httpx.Response:
    return httpx.post(server.base_url + path, json=body, headers=auth(token), timeout=30)


def test_keep_alives_do_not_hold_off_the_first_byte_timeout(guarded_server: Server) -> None:
    token = guarded_server.create_user(openai_key="sk-hostile-0901")
    started = time.monotonic()
    response = post(
        guarded_server, token, chat_body("#fake first_byte_delay_ms=10000 keepalive_ms=300")
    )
    assert (response.status_code, response.json()) == (
        504,
        {"message": "OpenAI did not answer in time (no response)"},
    )
    assert time.monotonic() - started < 3


def test_an_answer_that_closes_before_its_end_is_cut_off(guarded_server: Server) -> None:
    token = guarded_server.create_user(openai_key="sk-hostile-0902")
    before = cut_off_count(guarded_server)
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        read_answer(guarded_server, token, chat_body("#fake no_end=1 chunks=3"), into=received)
    assert "".join(received) == "".join(reply_pieces(3))
    assert cut_off_count(guarded_server) == before + 1
    assert '"outcome":"cut_off"' in guarded_server.log.read_text()


@pytest.mark.parametrize("location", ["file:///etc/passwd", "http://169.254.169.254/latest/"])
def test_a_redirect_is_an_upstream_error_naming_only_its_status(
    guarded_server: Server, upstream: Upstream, location: str
) -> None:
    token = guarded_server.create_user(openai_key="sk-hostile-0903")
    response = post(guarded_server, token, chat_body(f"#fake redirect={location}"))
    assert (response.status_code, response.json()) == (
        502,
        {"message": "OpenAI answered with a redirect (status 307)"},
    )


@pytest.mark.parametrize("endpoint", ["http://[::1", "https://team.openai.azure.com:99999"])
def test_an_azure_endpoint_that_is_no_url_is_the_callers_400(
    guarded_server: Server, endpoint: str
) -> None:
    token = guarded_server.create_user(azure_openai_api_key="azure-hostile-0904")
    # One saved by an earlier release is checked again when it is used...
    store_sealed(guarded_server, token, field="azure_openai_endpoint", value=endpoint)
    response = post(guarded_server, token, chat_body(), path="/api/chat/azure")
    assert response.status_code == 400
    assert response.json()["message"].startswith("The Azure OpenAI endpoint ")
    # ...and saving one now is refused.
    saved = httpx.patch(
        guarded_server.base_url + "/api/profile",
        json={"azure_openai_endpoint": endpoint},
        headers=auth(token),
    )
    assert saved.status_code == 400
    assert saved.json()["message"].startswith("azure_openai_endpoint ")


def store_sealed(server: Server, token: str, *, field: str, value: str) -> None:
    """Write a profile field straight to the database, past today's checks."""

    async def work() -> None:
        db = Database(make_engine(server.database_url))
        try:
            owner = await db.find_token_owner(token_hash=hash_token(token))
            assert owner is not None
            keyring = Keyring([SecretStr(server.env["CHATGATE_SECRET_KEY"])])
            sealed = keyring.seal(value, context=seal_context(owner.user_id, field))
            await db.update_profile(user_id=owner.user_id, sealed={field: sealed})
        finally:
            await db.close()

    asyncio.run(work())


def custom_chat(server: Server, token: str, base_url: str) -> httpx.Response:
    model = server.create_custom_model(token, base_url=base_url)
    body = {**chat_body(), "customModelId": model["id"]}
    return post(server, token, body, path="/api/chat/custom")


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.2:{port}/local/v1",
        "http://[::1]:{port}/local/v1",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/v1",
    ],
)
def test_a_users_model_on_a_private_address_is_refused(
    guarded_server: Server, upstream: Upstream, base_url: str
) -> None:
    port = upstream.root.rsplit(":", 1)[1]
    token = guarded_server.create_user()
    response = custom_chat(guarded_server, token, base_url.format(port=port))
    assert response.status_code == 400
    assert "CHATGATE_ALLOWED_UPSTREAM_HOSTS" in response.json()["message"]


def test_allowed_hosts_and_the_operators_own_upstreams_are_reached(
    guarded_server: Server, upstream: Upstream
) -> None:
    token = guarded_server.create_user(openai_key="sk-hostile-0905")
    # The operator's OPENAI_BASE_URL is on 127.0.0.1 too: never checked.
    assert post(guarded_server, token, chat_body()).status_code == 200
    local = upstream.root.replace("127.0.0.1", "localhost") + "/local/v1"
    response = custom_chat(guarded_server, token, local)
    assert response.status_code == 200
    assert response.text == "".join(reply_pieces(12))
