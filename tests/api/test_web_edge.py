"""The web edge: bodies bounded on every route, the credential checked before a
body is read, one shape for every error, the headers every response carries,
and the chat body's bounds (parsed and documented from one description)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from starlette.types import Message

from chatgate.app import create_app
from chatgate.errors import BadRequest
from chatgate.profiles import update_profile
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from chatgate.web.chat_body import (
    CHAT_BODY,
    LARGE_BODY,
    MAX_CONTAINERS,
    MAX_DEPTH,
    MAX_MESSAGES,
    MAX_PARTS,
    MAX_TEXT,
    parse_chat_body,
    read_chat_body,
)
from tests.api.conftest import new_user

KIB = 1024
SETTINGS = {"model": "gpt-4o"}


@dataclass
class Exchange:
    """One request sent straight to the ASGI app, counting the body chunks it read."""

    chunks_read: int = 0
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return orjson.loads(self.body)


async def exchange(
    app: FastAPI,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: int = 100,
    chunk_size: int = 16 * KIB,
) -> Exchange:
    result = Exchange()
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("chatgate", 80),
    }

    async def receive() -> Message:
        if result.chunks_read == chunks:
            await asyncio.sleep(3600)  # the client would still be sending
        result.chunks_read += 1
        more = result.chunks_read < chunks
        return {"type": "http.request", "body": b"{" * chunk_size, "more_body": more}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            result.body += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return result


@pytest.fixture
async def alice(app: FastAPI) -> dict[str, str]:
    _, token = await new_user(app, "alice")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("length", [None, str(400 * 1024 * KIB)])
async def test_a_strangers_body_is_never_read(app: FastAPI, length: str | None) -> None:
    headers = {"Authorization": "Bearer cg_not-a-token"}
    if length:
        headers["Content-Length"] = length
    refused = await exchange(app, "PATCH", "/api/profile", headers=headers)
    assert refused.status == 401
    assert refused.json() == {"message": "Invalid or revoked access token"}
    assert refused.chunks_read == 0
    anonymous = await exchange(app, "POST", "/api/tokens")
    assert anonymous.status == 401
    assert anonymous.chunks_read == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/profile"),
        ("POST", "/api/tokens"),
        ("POST", "/api/models"),
        ("PATCH", "/api/models/some-id"),
        ("GET", "/api/keys"),
        ("POST", "/healthz"),
        ("PUT", "/nowhere"),
    ],
)
async def test_a_body_over_the_json_limit_is_refused_on_every_route(
    app: FastAPI, alice: dict[str, str], method: str, path: str
) -> None:
    announced = await exchange(
        app, method, path, headers={**alice, "Content-Length": str(65 * KIB)}
    )
    assert announced.status == 413
    assert announced.json() == {"message": "Request body is larger than the limit of 65536 bytes"}
    assert announced.chunks_read == 0  # refused on its Content-Length, before reading
    chunked = await exchange(app, method, path, headers=alice)
    assert chunked.status == 413
    assert chunked.chunks_read == 5  # counted as it came: refused at the chunk past 64 KiB


async def test_the_json_limit_is_a_setting(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_json_body_bytes=100))
    async with app.router.lifespan_context(app):
        _, token = await new_user(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
            response = await client.patch(
                "/api/profile",
                json={"openai_organization_id": "org-" + "x" * 100},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert response.status_code == 413
    assert response.json() == {"message": "Request body is larger than the limit of 100 bytes"}


async def test_every_response_tells_browsers_not_to_sniff(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    responses = [
        await client.get("/healthz"),
        await client.get("/nowhere"),
        await client.get("/api/profile", headers=alice),
        await client.post("/api/chat/openai", json={}),
        await client.post("/api/chat/openai", json={}, headers=alice),
        await client.get("/openapi.json"),
    ]
    assert [r.headers.get("x-content-type-options") for r in responses] == ["nosniff"] * 6


async def test_responses_with_a_token_or_a_key_are_never_stored(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    created = await client.post("/api/tokens", json={"label": "laptop"}, headers=alice)
    assert created.status_code == 201
    assert created.json()["token"].startswith("cg_")
    profile = await client.patch("/api/profile", json={"openai_api_key": "sk-0904"}, headers=alice)
    assert profile.status_code == 200
    for response in (created, profile, await client.get("/api/profile", headers=alice)):
        assert response.headers["cache-control"] == "no-store"
    assert "cache-control" not in (await client.get("/healthz")).headers


async def test_a_revoke_through_the_api_applies_at_once_on_every_route(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    other = await client.post("/api/tokens", json={"label": "phone"}, headers=alice)
    phone = {"Authorization": f"Bearer {other.json()['token']}"}
    assert (await client.get("/api/profile", headers=phone)).status_code == 200  # now cached
    revoked = await client.delete(f"/api/tokens/{other.json()['id']}", headers=alice)
    assert revoked.status_code == 204
    after = [
        await client.get("/api/profile", headers=phone),
        await client.get("/api/tokens", headers=phone),
        await client.post("/api/chat/openai", json={}, headers=phone),
    ]
    assert [r.status_code for r in after] == [401, 401, 401]
    assert all(r.headers["www-authenticate"] == "Bearer" for r in after)


async def test_every_error_has_one_shape(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    responses = [
        await client.get("/api/profile"),  # the edge: no token
        await client.patch("/api/profile", json={"nope": 1}, headers=alice),  # validation
        await client.put("/api/profile", headers=alice),  # the framework: 405
        await client.get("/api/models/missing", headers=alice),  # a route: 404
        await client.post("/api/chat/openai", content=b"{", headers=alice),  # the chat route
    ]
    assert [r.status_code for r in responses] == [401, 400, 405, 404, 400]
    for response in responses:
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) == {"message"}


async def chat_with(app: FastAPI, client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    user_id, token = await new_user(app, "chatter")
    runtime: Runtime = app.state.runtime
    changes = {"openai_api_key": "sk-chatter-0905"}
    await update_profile(db=runtime.db, keyring=runtime.keyring, user_id=user_id, changes=changes)
    return await client.post(
        "/api/chat/openai", content=body, headers={"Authorization": f"Bearer {token}"}
    )


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


async def test_json_nested_past_the_bound_is_a_400_not_a_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Deeper than orjson writes (254 levels) yet within what it reads (1,024): the
    # request built for the provider could not be written.
    extra = b"[" * 300 + b'"deep"' + b"]" * 300
    body = b'{"chatSettings": {"model": "gpt-4o"}, "messages": [{"role": "user", "extra": %s}]}'
    body %= extra
    response = await chat_with(app, client, body)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"Request body is nested more than {MAX_DEPTH} levels deep"
    }


def body_with(messages: list[Any]) -> bytes:
    return orjson.dumps({"chatSettings": SETTINGS, "messages": messages})


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (
            [{"role": "user", "content": "x"}] * (MAX_MESSAGES + 1),
            f"messages holds {MAX_MESSAGES + 1} messages; at most {MAX_MESSAGES} are accepted",
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "x"}] * (MAX_PARTS + 1)}],
            f"messages[0].content has {MAX_PARTS + 1} parts; at most {MAX_PARTS} are accepted",
        ),
        (
            [{"role": "user", "parts": [{"text": "x"}] * (MAX_PARTS + 1)}],
            f"messages[0].parts has {MAX_PARTS + 1} parts; at most {MAX_PARTS} are accepted",
        ),
        (
            [{"role": "user", "content": "x" * (MAX_TEXT // 2)}] * 2
            + [{"role": "user", "content": [{"type": "text", "text": "!"}]}],
            f"messages hold {MAX_TEXT + 1} characters of text; at most {MAX_TEXT} are accepted",
        ),
        (
            [{"role": "user", "content": "x", "tool": [[]] * MAX_CONTAINERS}],
            f"Request body holds more than {MAX_CONTAINERS} JSON objects and arrays",
        ),
    ],
)
def test_each_bound_of_a_chat_request_is_named(messages: list[Any], message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_chat_body(body_with(messages))
    assert refused.value.message == message


def test_a_body_of_too_many_tiny_objects_is_refused_before_it_is_parsed() -> None:
    tiny = b'{"role":"user","content":"x"},' * (MAX_CONTAINERS * 2)
    # Not even valid JSON: the count comes first, so the parse never runs.
    with pytest.raises(BadRequest) as refused:
        parse_chat_body(b'{"chatSettings": {"model": "gpt-4o"}, "messages": [' + tiny)
    assert refused.value.message == (
        f"Request body holds more than {2 * MAX_CONTAINERS} '{{' and '[' characters"
        f" (at most {MAX_CONTAINERS} JSON objects and arrays are accepted)"
    )


def test_braces_in_text_count_only_past_twice_the_bound() -> None:
    code = "{[" * (MAX_CONTAINERS // 2 + 1000)  # more than the bound, as text
    chat = parse_chat_body(body_with([{"role": "user", "content": code}]))
    assert chat.messages[0]["content"] == code


async def test_a_large_body_is_read_in_steps_that_let_other_requests_in() -> None:
    body = body_with([{"role": "user", "content": "x" * 1000}] * 2000)
    assert len(body) > LARGE_BODY
    turns = 0

    async def other_request() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    try:
        chat = await read_chat_body(body)
    finally:
        other.cancel()
    assert turns >= 3  # it ran between the parse, the checks and the result
    assert chat == parse_chat_body(body)


def message_with(**fields: Any) -> dict[str, Any]:
    return {"role": "user", "content": "x", **fields}


@pytest.mark.parametrize("body", [b"-354083996952", b'"text"', b"null", b"[1, 2]"])
def test_a_body_that_is_not_an_object_is_named_so(body: bytes) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_chat_body(body)
    expected = "Request body must be a JSON object with chatSettings and messages"
    assert refused.value.message == expected


def test_what_the_schema_documents_is_what_the_parser_accepts() -> None:
    schema = CHAT_BODY.schema()
    messages = schema["properties"]["messages"]
    most = messages["maxItems"]
    parts = messages["items"]["properties"]["parts"]["maxItems"]
    depth, containers = CHAT_BODY.max_depth, CHAT_BODY.max_containers
    assert f"{depth} levels" in schema["description"]
    assert f"{containers} objects and arrays" in schema["description"]
    # Bodies at each bound, then one past it. The body, messages and a message are
    # 3 levels deep; with chatSettings and a list of its own, they are 5 containers.
    bounds = [
        ([message_with()] * most, [message_with()] * (most + 1)),
        (
            [{"role": "user", "parts": [{"text": "x"}] * parts}],
            [{"role": "user", "parts": [{"text": "x"}] * (parts + 1)}],
        ),
        ([message_with(tool=nested(depth - 3))], [message_with(tool=nested(depth - 2))]),
        (
            [message_with(tool=[[]] * (containers - 5))],
            [message_with(tool=[[]] * (containers - 4))],
        ),
    ]
    for at_most, over in bounds:
        assert parse_chat_body(body_with(at_most)).messages == at_most
        with pytest.raises(BadRequest):
            parse_chat_body(body_with(over))


async def test_the_openapi_page_shows_the_parsers_description(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas["ChatBody"] == CHAT_BODY.schema()
    assert schemas["CustomChatBody"]["required"] == ["chatSettings", "messages", "customModelId"]
