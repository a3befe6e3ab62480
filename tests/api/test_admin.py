"""The admin's API: users made with a first token, disabled (their tokens and
sessions stop at once) and re-enabled; every route refused to a member."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from chatgate.db.usage_queries import UsageRow
from chatgate.runtime import Runtime
from tests.api.conftest import auth, new_user
from tests.api.test_ledger import row


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
        ("GET", "/api/admin/usage"),
        ("GET", "/api/admin/defaults"),
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


def ledger_row(user_id: int, model: str, prompt: int, completion: int) -> UsageRow:
    made = row(0, user_id=user_id, tokens=prompt)
    return replace(made, route="/v1/chat/completions", model=model, completion_tokens=completion)


async def test_an_admin_sets_a_quota_the_user_sees_with_what_is_left(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime: Runtime = app.state.runtime
    admin = await new_admin(app)
    user_id, token = await new_user(app)
    await runtime.usage.store.insert_rows([ledger_row(user_id, "gpt-4o", 30, 12)])
    before = (await client.get("/api/quota", headers=auth(token))).json()
    assert before["tokens_per_day"] is None
    assert before["used_today"] == 42

    changed = await client.patch(
        "/api/admin/users/alice", json={"tokens_per_day": 100}, headers=auth(admin)
    )
    assert changed.json()["tokens_per_day"] == 100
    assert changed.json()["tokens_per_month"] is None
    after = (await client.get("/api/quota", headers=auth(token))).json()
    assert (after["tokens_per_day"], after["left_today"]) == (100, 58)

    back = await client.patch(
        "/api/admin/users/alice", json={"tokens_per_day": None}, headers=auth(admin)
    )
    assert back.json()["tokens_per_day"] is None
    negative = await client.patch(
        "/api/admin/users/alice", json={"tokens_per_day": -1}, headers=auth(admin)
    )
    assert negative.status_code == 400


async def test_usage_by_user_and_model_over_a_period(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime: Runtime = app.state.runtime
    admin = await new_admin(app)
    alice, _ = await new_user(app)
    bob, _ = await new_user(app, "bob")
    await runtime.usage.store.insert_rows(
        [
            ledger_row(alice, "gpt-4o", 10, 5),
            ledger_row(alice, "gpt-4o", 1, 1),
            ledger_row(alice, "o3", 7, 3),
            ledger_row(bob, "gpt-4o", 2, 2),
        ]
    )
    today = datetime.now(UTC).date().isoformat()
    report = await client.get(f"/api/admin/usage?since={today}&until={today}", headers=auth(admin))
    rows = [
        (r["user"], r["model"], r["requests"], r["total_tokens"]) for r in report.json()["rows"]
    ]
    assert rows == [
        ("alice", "openai/gpt-4o", 2, 17),
        ("alice", "openai/o3", 1, 10),
        ("bob", "openai/gpt-4o", 1, 4),
    ]
    bad = await client.get("/api/admin/usage?since=yesterday", headers=auth(admin))
    assert bad.status_code == 400
