"""Chatbot UI's users, signed in through Supabase: the request its front end sends
(the session cookie and nothing else), access tokens as bearer tokens, every
refusal, the cross-site rule, and the chatgate user each sign-in maps to."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from pydantic import SecretStr

from chatgate.fake import reply_pieces
from tests.api.conftest import (
    CHAT_PATH,
    FakeUpstream,
    Gate,
    OpenGate,
    auth,
    chat_body,
    gate_settings,
    serving,
)
from tests.chatbot_ui_database import database
from tests.supabase_session import (
    ISSUER,
    SECRET,
    SUPABASE_URL,
    access_token,
    claims,
    plain_session_cookie,
    session_cookie,
)

FULL_ANSWER = "".join(reply_pieces(12))
EXPIRED = "Your session has expired. Please sign in again."
INVALID = "Invalid session token"
SUPABASE = {"supabase_url": SUPABASE_URL, "supabase_jwt_secret": SecretStr(SECRET)}
ON_POSTGRES = {"secret_key": SecretStr("the-secret-of-every-test-server-0123456789"), **SUPABASE}


def front_end_request(cookie: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """What Chatbot UI's fetchChatResponse sends: JSON.stringify(body) with no headers
    of its own, so fetch labels it text/plain; the browser adds the cookie."""
    return {
        "content": json.dumps(body or chat_body()),
        "headers": {"Content-Type": "text/plain;charset=UTF-8", "Cookie": cookie},
    }


async def set_key(gate: Gate, cookie: str, key: str) -> None:
    gate.secrets_used.add(key)
    response = await gate.client.patch(
        "/api/profile", json={"openai_api_key": key}, headers={"Cookie": cookie}
    )
    assert response.status_code == 200, response.text


async def test_chatbot_ui_front_end_request_is_answered_with_the_streamed_text(
    open_gate: OpenGate,
) -> None:
    async with open_gate(**SUPABASE) as gate:
        token = access_token()
        gate.secrets_used.add(token)  # checked absent from the log at the end
        cookie = plain_session_cookie(token)
        await set_key(gate, cookie, "sk-typed-by-zoe-0001")
        response = await gate.client.post(CHAT_PATH, **front_end_request(cookie))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text == FULL_ANSWER
        sent = (await gate.upstream.last_request())["headers"]
        assert sent["Authorization"] == "Bearer sk-typed-by-zoe-0001"


@pytest.mark.parametrize(
    "fixture", [0, 1, 2, 3], ids=["0.0.10", "0.0.10 chunked", "0.12", "0.12 chunked"]
)
async def test_the_session_cookie_of_every_supabase_ssr_version_signs_in(
    open_gate: OpenGate, fixture: int
) -> None:
    async with open_gate(**SUPABASE) as gate:
        subject = "7d0d2f53-5d1e-4d35-9d38-8d1c2f0b6a11"
        cookie = session_cookie(access_token(subject, email="zoe@example.com"), fixture=fixture)
        response = await gate.client.get("/api/profile", headers={"Cookie": cookie})
        assert response.status_code == 200, response.text
        assert response.json()["username"] == "zoe@example.com"


async def test_without_a_cookie_or_token_the_front_end_is_told_to_sign_in(
    open_gate: OpenGate,
) -> None:
    async with open_gate(**SUPABASE) as gate:
        response = await gate.client.post(
            CHAT_PATH, **front_end_request("sb-other-auth-token=x; theme=dark")
        )
        assert response.status_code == 401
        assert response.json() == {
            "message": "Missing access token: send Authorization: Bearer <token>"
        }


def anon_key() -> str:
    now = int(time.time())
    payload = {"iss": "supabase", "ref": "abcd", "role": "anon", "iat": now, "exp": now + 10**8}
    return jwt.encode(payload, SECRET, algorithm="HS256")


def service_role_key() -> str:
    now = int(time.time())
    payload = {"iss": "supabase", "ref": "abcd", "role": "service_role", "exp": now + 10**8}
    return jwt.encode(payload, SECRET, algorithm="HS256")


REFUSED = {
    "anon key": (anon_key, INVALID),
    "service-role key": (service_role_key, INVALID),
    "service role of this project": (lambda: access_token(role="service_role"), INVALID),
    "alg none": (lambda: jwt.encode(claims(), "", algorithm="none"), INVALID),
    "other issuer": (lambda: access_token(iss="https://evil.supabase.co/auth/v1"), INVALID),
    "wrong secret": (
        lambda: jwt.encode(claims(), "another-secret-of-at-least-32-characters", "HS256"),
        INVALID,
    ),
    "expired": (lambda: access_token(exp=int(time.time()) - 120), EXPIRED),
}


@pytest.mark.parametrize(("make", "message"), REFUSED.values(), ids=REFUSED.keys())
@pytest.mark.parametrize("how", ["bearer", "cookie"])
async def test_tokens_of_no_signed_in_user_are_refused(
    open_gate: OpenGate, make: Any, message: str, how: str
) -> None:
    token = make()
    headers = auth(token) if how == "bearer" else {"Cookie": plain_session_cookie(token)}
    async with open_gate(**SUPABASE) as gate:
        gate.secrets_used.add(token)
        response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": message}
        assert "refused" in "\n".join(gate.log.lines)  # the reason is in the log


# ES256 with the project's published keys --------------------------------------------


@pytest.fixture
async def jwks_url() -> AsyncIterator[tuple[ec.EllipticCurvePrivateKey, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "alg": "ES256"}

    async def handle(_request: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/auth/v1/.well-known/jwks.json", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield key, str(server.make_url("/auth/v1/.well-known/jwks.json"))
    finally:
        await server.close()


async def test_es256_tokens_are_checked_against_the_published_keys(
    open_gate: OpenGate, jwks_url: tuple[ec.EllipticCurvePrivateKey, str]
) -> None:
    key, url = jwks_url
    signed = jwt.encode(claims(), key, algorithm="ES256", headers={"kid": "k1"})
    async with open_gate(supabase_url=SUPABASE_URL, jwks_url=url) as gate:
        by_cookie = await gate.client.get(
            "/api/profile", headers={"Cookie": session_cookie(signed, fixture=1)}
        )
        by_bearer = await gate.client.get("/api/profile", headers=auth(signed))
        assert by_cookie.status_code == by_bearer.status_code == 200
        assert by_cookie.json()["username"] == by_bearer.json()["username"]
        # Only the published keys are configured: an HS256 token is refused.
        hs256 = await gate.client.get("/api/profile", headers=auth(access_token()))
        assert hs256.status_code == 401
        assert hs256.json() == {"message": INVALID}


# The cross-site rule ----------------------------------------------------------------


def from_page(token: str, **headers: str) -> dict[str, str]:
    return {"Cookie": plain_session_cookie(token), **headers}


SITE = {
    "no origin": ({}, 200),
    "same origin": ({"Origin": "http://chatgate"}, 200),
    "same origin by referer": ({"Referer": "http://chatgate/chat"}, 200),
    "foreign origin": ({"Origin": "https://evil.example"}, 403),
    "origin null": ({"Origin": "null"}, 403),
    "foreign referer": ({"Referer": "https://evil.example/page"}, 403),
    "allowed cors origin": ({"Origin": "https://admin.example.com"}, 200),
    "forwarded host from an untrusted peer": (
        {"Origin": "https://chat.example.com", "X-Forwarded-Host": "chat.example.com"},
        403,
    ),
}


@pytest.mark.parametrize(("headers", "status"), SITE.values(), ids=SITE.keys())
async def test_a_cookie_sent_along_by_another_sites_page_is_refused(
    open_gate: OpenGate, headers: dict[str, str], status: int
) -> None:
    async with open_gate(cors_origins=["https://admin.example.com"], **SUPABASE) as gate:
        response = await gate.client.get(
            "/api/profile", headers=from_page(access_token(), **headers)
        )
        assert response.status_code == status, response.text
        if status == 403:
            assert response.json() == {"message": "Cross-site request refused"}


async def test_a_trusted_proxys_forwarded_host_is_the_requests_own_origin(
    open_gate: OpenGate,
) -> None:
    # httpx's ASGI transport comes from 127.0.0.1: the proxy here.
    async with open_gate(trusted_proxies="127.0.0.1", **SUPABASE) as gate:
        forwarded = {"X-Forwarded-Host": "chat.example.com", "X-Forwarded-Proto": "https"}
        same = from_page(access_token(), Origin="https://chat.example.com", **forwarded)
        foreign = from_page(access_token(), Origin="http://chatgate", **forwarded)
        assert (await gate.client.get("/api/profile", headers=same)).status_code == 200
        assert (await gate.client.get("/api/profile", headers=foreign)).status_code == 403


async def test_token_requests_are_not_subject_to_the_cross_site_rule(gate: Gate) -> None:
    token = await gate.create_user()
    headers = {**auth(token), "Origin": "https://evil.example"}
    assert (await gate.client.get("/api/profile", headers=headers)).status_code == 200


# The chatgate user of a Supabase user ------------------------------------------------


async def test_a_token_made_by_a_supabase_user_reads_the_same_profile(
    open_gate: OpenGate,
) -> None:
    async with open_gate(**SUPABASE) as gate:
        cookie = plain_session_cookie(access_token())
        await set_key(gate, cookie, "sk-typed-by-zoe-0002")
        made = await gate.client.post(
            "/api/tokens", json={"label": "script"}, headers={"Cookie": cookie}
        )
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        gate.secrets_used.add(token)
        by_cookie = (await gate.client.get("/api/profile", headers={"Cookie": cookie})).json()
        by_token = (await gate.client.get("/api/profile", headers=auth(token))).json()
        assert by_token == by_cookie
        assert by_token["openai_api_key"].endswith("0002")
        answer = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
        assert answer.text == FULL_ANSWER


async def test_users_are_named_after_their_email_and_names_never_collide(
    open_gate: OpenGate,
) -> None:
    async with open_gate(**SUPABASE) as gate:
        names = []
        for _ in range(3):
            token = access_token(email="sam@example.com")
            names.append((await gate.client.get("/api/profile", headers=auth(token))).json())
        assert [n["username"] for n in names] == [
            "sam@example.com",
            "sam@example.com-2",
            "sam@example.com-3",
        ]


def count_verifications(gate: Gate) -> list[str]:
    """The session tokens chatgate verifies from now on, in order."""
    sign_in = gate.runtime.sign_in
    assert sign_in is not None
    verified: list[str] = []
    verify = sign_in.verify

    async def counting(token: str) -> Any:
        verified.append(token)
        return await verify(token)

    sign_in.verify = counting  # type: ignore[method-assign]
    return verified


@pytest.mark.parametrize(
    ("expires_in", "verifications"),
    [(3600, 1), (-5, 5)],  # -5: expired, yet within the 30 s leeway: never cached
    ids=["valid for an hour", "past its exp"],
)
async def test_a_session_is_verified_once_per_cache_period_never_past_its_expiry(
    open_gate: OpenGate, expires_in: int, verifications: int
) -> None:
    async with open_gate(identity_cache_seconds=60, **SUPABASE) as gate:
        verified = count_verifications(gate)
        cookie = plain_session_cookie(access_token(exp=int(time.time()) + expires_in))
        for _ in range(5):
            response = await gate.client.get("/api/profile", headers={"Cookie": cookie})
            assert response.status_code == 200
        assert len(verified) == verifications


@pytest.fixture
def chatgate_on_postgres() -> Iterator[str]:
    yield from database()


@pytest.mark.postgres
async def test_instances_signing_a_new_user_in_at_once_make_one_user(
    tmp_path: Path, upstream: FakeUpstream, chatgate_on_postgres: str
) -> None:
    url = chatgate_on_postgres
    first = gate_settings(tmp_path, upstream, database_url=url, **ON_POSTGRES)
    second = gate_settings(
        tmp_path, upstream, database_url=url, migrate_on_start=False, **ON_POSTGRES
    )
    token = access_token(email="kim@example.com")
    async with serving(first, upstream) as one, serving(second, upstream) as two:
        responses = await asyncio.gather(
            *(g.client.get("/api/profile", headers=auth(token)) for g in [one, two] * 4)
        )
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["username"] for r in responses} == {"kim@example.com"}
    conn = await asyncpg.connect(url)
    try:
        users = await conn.fetch("SELECT username, issuer FROM users")
    finally:
        await conn.close()
    assert [(u["username"], u["issuer"]) for u in users] == [("kim@example.com", ISSUER)]
