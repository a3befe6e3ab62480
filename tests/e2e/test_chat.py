"""What is particular to the OpenAI route, against a real server (the contract every
provider shares is in test_providers.py)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import CHAT_PATH, Server, Upstream, chat_body

FULL_ANSWER = "".join(reply_pieces(12))


def post_chat(server: Server, token: str | None, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(server.base_url + CHAT_PATH, json=body, headers=headers, timeout=30)


def test_answer_streams_back_as_plain_text(server: Server) -> None:
    token = server.create_user(openai_key="sk-alice-streams-0001")
    response = post_chat(server, token, chat_body())
    assert response.status_code == 200
    assert response.text == FULL_ANSWER
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-request-id"]


def test_transient_failure_is_retried_before_the_answer(server: Server, upstream: Upstream) -> None:
    token = server.create_user(openai_key="sk-retry-0007")
    upstream.clear()
    response = post_chat(
        server, token, chat_body(f"#fake status=503 times=1 tag={time.monotonic_ns()}")
    )
    assert response.status_code == 200
    assert response.text == FULL_ANSWER
    assert len(upstream.requests()) == 2


def test_out_of_credit_is_not_retried(server: Server, upstream: Upstream) -> None:
    token = server.create_user(openai_key="sk-quota-0008")
    upstream.clear()
    response = post_chat(
        server,
        token,
        chat_body(f"#fake status=429 code=insufficient_quota tag={time.monotonic_ns()}"),
    )
    assert response.status_code == 429
    assert len(upstream.requests()) == 1


def test_request_reaches_openai_as_the_seed_sends_it(server: Server, upstream: Upstream) -> None:
    token = server.create_user(openai_key="sk-payload-0009", org="org-payload")
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]},
    ]
    body = {
        "chatSettings": {"model": "gpt-4o", "temperature": 0.3, "prompt": "ignored"},
        "messages": messages,
        "extra": 1,
    }
    assert post_chat(server, token, body).status_code == 200
    sent = upstream.last_request()
    assert sent["body"] == {
        "model": "gpt-4o",
        "messages": messages,
        "temperature": 0.3,
        "max_tokens": 4096,
        "stream": True,
    }
    assert sent["headers"]["Authorization"] == "Bearer sk-payload-0009"
    assert sent["headers"]["OpenAI-Organization"] == "org-payload"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4-vision-preview", {"temperature": 0.5, "max_tokens": 4096}),
        ("gpt-4-turbo", {"temperature": 0.5}),
        ("o3-mini", {}),
        ("gpt-5", {}),
    ],
)
def test_model_rules_shape_the_request(
    server: Server, upstream: Upstream, model: str, expected: dict[str, float]
) -> None:
    token = server.create_user(openai_key="sk-models-0010")
    assert post_chat(server, token, chat_body(model=model)).status_code == 200
    sent = upstream.last_request()["body"]
    assert {k: v for k, v in sent.items() if k in ("temperature", "max_tokens")} == expected
    assert "OpenAI-Organization" not in upstream.last_request()["headers"]


def test_a_user_never_gets_another_users_key(server: Server, upstream: Upstream) -> None:
    alice = server.create_user(openai_key="sk-alice-private-0011")
    bob = server.create_user(openai_key="sk-bob-private-0012")
    carol = server.create_user()
    assert post_chat(server, alice, chat_body()).status_code == 200
    assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-alice-private-0011"
    assert post_chat(server, bob, chat_body()).status_code == 200
    assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-bob-private-0012"
    assert post_chat(server, carol, chat_body()).status_code == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "chatSettings is missing"),
        ({"chatSettings": [], "messages": []}, "chatSettings must be an object"),
        (
            {"chatSettings": {"model": "", "temperature": 1}, "messages": [{}]},
            "chatSettings.model must be a non-empty string",
        ),
        (
            {"chatSettings": {"model": "gpt-4o", "temperature": 3}, "messages": [{}]},
            "chatSettings.temperature must be a number from 0 to 2",
        ),
        (
            {"chatSettings": {"model": "gpt-4o"}, "messages": "hi"},
            "messages must be a non-empty list",
        ),
        ({"chatSettings": {"model": "gpt-4o"}}, "messages is missing"),
        (
            {"chatSettings": {"model": "gpt-4o"}, "messages": ["hi"]},
            "messages[0] must be an object with role and content",
        ),
        ([1, 2], "Request body must be a JSON object with chatSettings and messages"),
    ],
)
def test_bad_body_is_explained(server: Server, body: object, message: str) -> None:
    token = server.create_user(openai_key="sk-bad-body-0013")
    response = post_chat(server, token, body)
    assert response.status_code == 400
    assert response.json() == {"message": message}


def test_body_that_is_not_json(server: Server) -> None:
    token = server.create_user(openai_key="sk-not-json-0014")
    response = httpx.post(
        server.base_url + CHAT_PATH, content=b"{nope", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Request body is not valid JSON"}


def test_body_over_the_limit(server: Server) -> None:
    token = server.create_user(openai_key="sk-too-large-0015")
    huge = "x" * (3 * 1024 * 1024)
    response = post_chat(server, token, chat_body(huge))
    assert response.status_code == 413
    assert response.json() == {"message": "Request body is larger than the limit of 2097152 bytes"}


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Basic abc", "Bearer cg_not-a-real-token"]
)
def test_missing_or_invalid_token(server: Server, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=headers)
    assert response.status_code == 401
    assert "token" in response.json()["message"]


def test_revoked_token_stops_working(server: Server) -> None:
    name = "revoke-" + str(time.monotonic_ns())
    server.cli("user", "create", name)
    token = server.cli("token", "create", name, "--label", "laptop").stdout.splitlines()[-1]
    server.cli("profile", "set", name, "--openai-api-key-stdin", input="sk-revoke-0016\n")
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


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[" * 5000 + b"]" * 5000, "application/json"),  # nested past any parser's depth
        (
            b'{"chatSettings": {"model": "gpt-4o"}, "messages": [{"content": "\xff\xfe"}]}',
            "application/json",
        ),
        (b"\x00\x01\x02 binary", "application/octet-stream"),
    ],
)
def test_hostile_bodies_are_refused_cleanly(
    server: Server, content: bytes, content_type: str
) -> None:
    token = server.create_user(openai_key="sk-hostile-0017")
    response = httpx.post(
        server.base_url + CHAT_PATH,
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Request body is not valid JSON"}


def test_any_content_type_is_accepted_as_chatbot_ui_sends_none(server: Server) -> None:
    token = server.create_user(openai_key="sk-content-type-0018")
    response = httpx.post(
        server.base_url + CHAT_PATH,
        content=json.dumps(chat_body()).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 200
    assert response.text == FULL_ANSWER


def test_thousands_of_messages_pass_through_untouched(server: Server, upstream: Upstream) -> None:
    token = server.create_user(openai_key="sk-many-messages-0019")
    messages = [{"role": "user" if i % 2 else "assistant", "content": f"m{i}"} for i in range(5000)]
    body = {"chatSettings": {"model": "gpt-4-turbo", "temperature": 1}, "messages": messages}
    assert post_chat(server, token, body).status_code == 200
    assert upstream.last_request()["body"]["messages"] == messages
