"""Two chatgate instances sharing one PostgreSQL and one Redis act as one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.conftest import CHAT_PATH, Server, Upstream, chat_body, postgres_database, serving

REDIS_URL = os.environ.get("CHATGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture(scope="module")
def pair(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    redis.Redis.from_url(REDIS_URL).flushdb()  # a database of its own, for these tests only
    extra = {
        "CHATGATE_SECRET_KEY": "one-secret-for-every-instance-of-the-cluster",
        "CHATGATE_REDIS_URL": REDIS_URL,
        "CHATGATE_RATE_LIMIT_PER_MINUTE": "4",
        "CHATGATE_MAX_STREAMS_PER_USER": "1",
    }
    database = postgres_database()
    url = next(database)
    with ExitStack() as stack:
        yield [
            stack.enter_context(serving(tmp_path_factory.mktemp(name), upstream, url, extra))
            for name in ("a", "b")
        ]
    next(database, None)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


pytestmark = pytest.mark.postgres


def test_tokens_keys_and_limits_are_shared(pair: list[Server], upstream: Upstream) -> None:
    a, b = pair
    first = a.create_user()
    made_on_a = httpx.post(a.base_url + "/api/tokens", json={"label": "b"}, headers=auth(first))
    assert made_on_a.status_code == 201
    token = made_on_a.json()["token"]
    a.secrets_used.add(token)
    assert httpx.get(b.base_url + "/api/profile", headers=auth(token)).status_code == 200

    patched = httpx.patch(
        a.base_url + "/api/profile", json={"openai_api_key": "sk-shared-0300"}, headers=auth(token)
    )
    assert patched.status_code == 200
    statuses = [
        httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token)).status_code
        for server in (b, a, b, a, b)
    ]
    assert upstream.requests()[-1]["headers"]["Authorization"] == "Bearer sk-shared-0300"
    assert statuses == [200, 200, 200, 200, 429]


def test_concurrent_answers_are_counted_across_instances(pair: list[Server]) -> None:
    a, b = pair
    token = a.create_user(openai_key="sk-one-at-a-time-0301")
    with httpx.stream(
        "POST",
        a.base_url + CHAT_PATH,
        json=chat_body("#fake chunks=4 delay_ms=300"),
        headers=auth(token),
        timeout=30,
    ) as streaming:
        answer = streaming.iter_text()
        assert next(answer)
        refused = httpx.post(b.base_url + CHAT_PATH, json=chat_body(), headers=auth(token))
        assert refused.status_code == 429
        assert "".join(answer)
    after = httpx.post(b.base_url + CHAT_PATH, json=chat_body(), headers=auth(token))
    assert after.status_code == 200


def test_revoking_on_one_instance_locks_out_the_other(pair: list[Server], tmp_path: Path) -> None:
    a, b = pair
    first = a.create_user()
    made = httpx.post(
        b.base_url + "/api/tokens", json={"label": "temp"}, headers=auth(first)
    ).json()
    a.secrets_used.add(made["token"])
    assert (
        httpx.delete(a.base_url + f"/api/tokens/{made['id']}", headers=auth(first)).status_code
        == 204
    )
    assert httpx.get(b.base_url + "/api/profile", headers=auth(made["token"])).status_code == 401
    other = a.create_user()
    stranger = httpx.delete(a.base_url + f"/api/tokens/{made['id']}", headers=auth(other))
    assert stranger.status_code == 404
