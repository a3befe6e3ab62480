"""What is particular to the OpenAI route (the contract every provider shares is in
test_providers.py)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.api.conftest import CHAT_PATH, Gate, auth, chat_body

FULL_ANSWER = "".join(reply_pieces(12))


async def post_chat(gate: Gate, token: str | None, body: object) -> httpx.Response:
    headers = auth(token) if token else {}
    return await gate.client.post(CHAT_PATH, json=body, headers=headers)


async def test_answer_comes_back_as_plain_text(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-alice-streams-0001")
    response = await post_chat(gate, token, chat_body())
    assert response.status_code == 200
    assert response.text == FULL_ANSWER
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-request-id"]


async def test_transient_failure_is_retried_before_the_answer(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-retry-0007")
    await gate.upstream.clear()
    response = await post_chat(
        gate, token, chat_body(f"#fake status=503 times=1 tag={time.monotonic_ns()}")
    )
    assert response.status_code == 200
    assert response.text == FULL_ANSWER
    assert len(await gate.upstream.requests()) == 2


async def test_out_of_credit_is_not_retried(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-quota-0008")
    await gate.upstream.clear()
    response = await post_chat(
        gate,
        token,
        chat_body(f"#fake status=429 code=insufficient_quota tag={time.monotonic_ns()}"),
    )
    assert response.status_code == 429
    assert len(await gate.upstream.requests()) == 1


async def test_request_reaches_openai_as_the_seed_sends_it(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-payload-0009", org="org-payload")
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
    assert (await post_chat(gate, token, body)).status_code == 200
    sent = await gate.upstream.last_request()
    assert sent["body"] == {
        "model": "gpt-4o",
        "messages": messages,
        "temperature": 0.3,
        "max_tokens": 4096,
        "stream": True,
    }
    assert sent["headers"]["Authorization"] == "Bearer sk-payload-0009"
    assert sent["headers"]["OpenAI-Organization"] == "org-payload"
    assert sent["headers"]["User-Agent"] == "chatgate"  # what the provider's logs show


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4-vision-preview", {"temperature": 0.5, "max_tokens": 4096}),
        ("gpt-4-turbo", {"temperature": 0.5}),
        ("o3-mini", {}),
        ("gpt-5", {}),
    ],
)
async def test_model_rules_shape_the_request(
    gate: Gate, model: str, expected: dict[str, float]
) -> None:
    token = await gate.create_user(openai_key="sk-models-0010")
    assert (await post_chat(gate, token, chat_body(model=model))).status_code == 200
    sent = await gate.upstream.last_request()
    assert {k: v for k, v in sent["body"].items() if k in ("temperature", "max_tokens")} == expected
    assert "OpenAI-Organization" not in sent["headers"]


async def test_a_user_never_gets_another_users_key(gate: Gate) -> None:
    alice = await gate.create_user(openai_key="sk-alice-private-0011")
    bob = await gate.create_user(openai_key="sk-bob-private-0012")
    carol = await gate.create_user()
    assert (await post_chat(gate, alice, chat_body())).status_code == 200
    sent = await gate.upstream.last_request()
    assert sent["headers"]["Authorization"] == "Bearer sk-alice-private-0011"
    assert (await post_chat(gate, bob, chat_body())).status_code == 200
    sent = await gate.upstream.last_request()
    assert sent["headers"]["Authorization"] == "Bearer sk-bob-private-0012"
    assert (await post_chat(gate, carol, chat_body())).status_code == 400


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
async def test_bad_body_is_explained(gate: Gate, body: object, message: str) -> None:
    token = await gate.create_user(openai_key="sk-bad-body-0013")
    response = await post_chat(gate, token, body)
    assert response.status_code == 400
    assert response.json() == {"message": message}


async def test_body_that_is_not_json(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-not-json-0014")
    response = await gate.client.post(CHAT_PATH, content=b"{nope", headers=auth(token))
    assert response.status_code == 400
    assert response.json() == {"message": "Request body is not valid JSON"}


async def test_body_over_the_limit(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-too-large-0015")
    huge = "x" * (3 * 1024 * 1024)
    response = await post_chat(gate, token, chat_body(huge))
    assert response.status_code == 413
    assert response.json() == {"message": "Request body is larger than the limit of 2097152 bytes"}


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Basic abc", "Bearer cg_not-a-real-token"]
)
async def test_missing_or_invalid_token(gate: Gate, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=headers)
    assert response.status_code == 401
    assert "token" in response.json()["message"]


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
async def test_hostile_bodies_are_refused_cleanly(
    gate: Gate, content: bytes, content_type: str
) -> None:
    token = await gate.create_user(openai_key="sk-hostile-0017")
    response = await gate.client.post(
        CHAT_PATH, content=content, headers={**auth(token), "Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Request body is not valid JSON"}


async def test_any_content_type_is_accepted_as_chatbot_ui_sends_none(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-content-type-0018")
    response = await gate.client.post(
        CHAT_PATH,
        content=json.dumps(chat_body()).encode(),
        headers={**auth(token), "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 200
    assert response.text == FULL_ANSWER


async def test_thousands_of_messages_pass_through_untouched(gate: Gate) -> None:
    token = await gate.create_user(openai_key="sk-many-messages-0019")
    messages = [{"role": "user" if i % 2 else "assistant", "content": f"m{i}"} for i in range(5000)]
    body = {"chatSettings": {"model": "gpt-4-turbo", "temperature": 1}, "messages": messages}
    assert (await post_chat(gate, token, body)).status_code == 200
    assert (await gate.upstream.last_request())["body"]["messages"] == messages
