"""The page's sign-in: a token exchanged for a session cookie, checked like a token,
ended by signing out and by revoking its token; the cross-site rule; the
Secure flag behind a trusted proxy; a Supabase cookie signing the page in."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from chatgate.app import create_app
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from tests.api.conftest import auth, new_user
from tests.api.test_supabase_sign_in import SECRET as SUPABASE_SECRET
from tests.api.test_supabase_sign_in import access_token, session_cookie

SAME_SITE = {"Origin": "http://chatgate"}


async def sign_in(client: httpx.AsyncClient, token: str) -> dict[str, str]:
    """Sign in; the headers a browser then sends (the cookie, its own origin)."""
    response = await client.post("/api/session", json={"token": token}, headers=SAME_SITE)
    assert response.status_code == 200, response.text
    name, _, value = response.headers["set-cookie"].split(";")[0].partition("=")
    client.cookies.clear()
    return {"Cookie": f"{name}={value}", **SAME_SITE}


async def test_the_cookie_is_http_only_strict_and_holds_no_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await new_user(app)
    _, token = await new_user(app, "bob")
    response = await client.post("/api/session", json={"token": token})
    cookie = response.headers["set-cookie"]
    assert response.json() == {"username": "bob", "is_admin": False}
    assert {"HttpOnly", "SameSite=strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    assert "Secure" not in cookie  # plain HTTP, no trusted proxy
    assert token not in cookie


async def test_a_session_signs_requests_in_until_signed_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await new_user(app)
    browser = await sign_in(client, token)
    me = await client.get("/api/me", headers=browser)
    assert me.json() == {"username": "alice", "is_admin": False}
    assert (await client.get("/api/tokens", headers=browser)).status_code == 200

    out = await client.delete("/api/session", headers=browser)
    assert out.status_code == 204
    assert "Max-Age=0" in out.headers["set-cookie"]
    after = await client.get("/api/me", headers=browser)
    assert after.status_code == 401
    assert after.json() == {"message": "Your session has ended. Please sign in again."}


async def test_revoking_the_token_ends_its_sessions(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await new_user(app)
    browser = await sign_in(client, token)
    tokens = (await client.get("/api/tokens", headers=browser)).json()
    assert (await client.get("/api/me", headers=browser)).status_code == 200  # now cached
    revoked = await client.delete(f"/api/tokens/{tokens[0]['id']}", headers=auth(token))
    assert revoked.status_code == 204
    assert (await client.get("/api/me", headers=browser)).status_code == 401


async def test_a_wrong_token_opens_no_session(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/session", json={"token": "cg_nope"})
    assert response.status_code == 401
    assert response.json() == {"message": "Invalid or revoked access token"}
    assert "set-cookie" not in response.headers


async def test_a_cookie_from_another_site_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await new_user(app)
    browser = await sign_in(client, token)
    foreign = {**browser, "Origin": "https://evil.example"}
    for method, path in (("GET", "/api/me"), ("POST", "/api/tokens"), ("DELETE", "/api/session")):
        response = await client.request(method, path, headers=foreign, json={})
        assert response.status_code == 403, (method, path)
        assert response.json() == {"message": "Cross-site request refused"}
    # A token needs no such rule: no browser sends it by itself.
    ok = await client.get("/api/me", headers={**auth(token), "Origin": "https://evil.example"})
    assert ok.status_code == 200


async def test_secure_when_a_trusted_proxy_says_https(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    runtime.settings.trusted_proxies = []
    _, token = await new_user(app)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.5", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
        headers = {"X-Forwarded-Proto": "https"}
        untrusted = await client.post("/api/session", json={"token": token}, headers=headers)
        assert "Secure" not in untrusted.headers["set-cookie"]
        runtime.settings.trusted_proxies = [ip_network("10.0.0.0/8")]
        trusted = await client.post("/api/session", json={"token": token}, headers=headers)
        assert "Secure" in trusted.headers["set-cookie"]


async def test_the_session_state_answers_200_signed_in_or_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    out = await client.get("/api/session")
    assert out.status_code == 200
    assert out.json() == {"signed_in": False, "username": None, "is_admin": False}
    _, token = await new_user(app)
    browser = await sign_in(client, token)
    state = await client.get("/api/session", headers=browser)
    assert state.json() == {"signed_in": True, "username": "alice", "is_admin": False}
    assert state.headers["cache-control"] == "no-store"


async def test_a_supabase_session_cookie_signs_the_page_in_already(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        supabase_url="https://abcd.supabase.co",
        supabase_jwt_secret=SecretStr(SUPABASE_SECRET),
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
            cookie = {"Cookie": session_cookie(access_token()), **SAME_SITE}
            state = await client.get("/api/session", headers=cookie)
            assert state.json() == {
                "signed_in": True,
                "username": "zoe@example.com",
                "is_admin": False,
            }
            foreign = await client.get(
                "/api/session", headers={**cookie, "Origin": "https://evil.example"}
            )
            assert foreign.status_code == 403
