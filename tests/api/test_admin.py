"""The admin's API: users made with a first token, disabled (their tokens and
sessions stop at once) and re-enabled; every route refused to a member."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from chatgate.runtime import Runtime
from tests.api.conftest import auth, new_user


async def new_admin(app: FastAPI) -> str:
    runtime: Runtime = app.state.runtime
    user_id, token = await new_user(app, "root")
    await runtime.db.set_user_flags(user_id=user_id, is_admin=True)
    return token


async def test_every_admin_route_refuses_a_member(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, member = await new_user(app)
    for method, path in (
        ("GET", "/api/admin/users"),
        ("POST", "/api/admin/users"),
        ("PATCH", "/api/admin/users/alice"),
    ):
        response = await client.request(method, path, headers=auth(member), json={})
        assert response.status_code == 403, (method, path)
        assert response.json() == {"message": "Only an administrator may do this"}


async def test_an_admin_creates_a_user_whose_token_works(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await new_admin(app)
    created = await client.post("/api/admin/users", json={"username": "carol"}, headers=auth(admin))
    assert created.status_code == 201
    token = created.json()["token"]
    me = await client.get("/api/me", headers=auth(token))
    assert me.json() == {"username": "carol", "is_admin": False}
    listed = (await client.get("/api/admin/users", headers=auth(admin))).json()
    assert [(u["username"], u["is_admin"], u["disabled"]) for u in listed] == [
        ("root", True, False),
        ("carol", False, False),
    ]
    again = await client.post("/api/admin/users", json={"username": "carol"}, headers=auth(admin))
    assert again.status_code == 409


async def test_disabling_a_user_stops_their_tokens_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await new_admin(app)
    _, token = await new_user(app)
    assert (await client.get("/api/me", headers=auth(token))).status_code == 200  # cached now
    off = await client.patch("/api/admin/users/alice", json={"disabled": True}, headers=auth(admin))
    assert off.json()["disabled"] is True
    assert (await client.get("/api/me", headers=auth(token))).status_code == 401
    refused = await client.post("/api/session", json={"token": token})
    assert refused.status_code == 401
    on = await client.patch("/api/admin/users/alice", json={"disabled": False}, headers=auth(admin))
    assert on.json()["disabled"] is False
    assert (await client.get("/api/me", headers=auth(token))).status_code == 200


async def test_an_admin_cannot_lock_themselves_out(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await new_admin(app)
    for change in ({"disabled": True}, {"is_admin": False}):
        response = await client.patch("/api/admin/users/root", json=change, headers=auth(admin))
        assert response.status_code == 400
    assert (await client.get("/api/me", headers=auth(admin))).json()["is_admin"] is True


async def test_a_user_made_admin_is_one_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await new_admin(app)
    _, token = await new_user(app)
    assert (await client.get("/api/admin/users", headers=auth(token))).status_code == 403
    await client.patch("/api/admin/users/alice", json={"is_admin": True}, headers=auth(admin))
    assert (await client.get("/api/admin/users", headers=auth(token))).status_code == 200
