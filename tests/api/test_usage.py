"""The usage ledger, /api/usage and token quotas, with the app in-process and the
fake providers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer
from fastapi import FastAPI
from sqlalchemy import select

from chatgate.app import create_app
from chatgate.db.usage_tables import usage
from chatgate.fake.app import create_fake_app
from chatgate.profiles import update_profile
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from tests.api.conftest import new_user

KEYS = {
    "openai_api_key": "sk-good-0001",
    "anthropic_api_key": "sk-ant-good-0002",
    "google_gemini_api_key": "AIza-good-0003",
    "mistral_api_key": "mistral-good-0004",
}
MODELS = {
    "openai": "gpt-4o",
    "anthropic": "claude-sonnet-4-5",
    "google": "gemini-2.5-flash",
    "mistral": "mistral-large-latest",
}
# What the fake reports for each wire format: (prompt, completion).
FAKE_USAGE = {"openai": (5, 9), "anthropic": (10, 12), "google": (10, 1), "mistral": (5, 9)}


@pytest.fixture
async def fake_root() -> AsyncIterator[str]:
    server = TestServer(create_fake_app(chunks=12), host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}"
    await server.close()


def settings_for(tmp_path: Path, fake_root: str, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        openai_base_url=fake_root + "/v1",
        anthropic_base_url=fake_root,
        google_base_url=fake_root,
        mistral_base_url=fake_root + "/v1",
        upstream_max_retries=0,
        **extra,
    )


@pytest.fixture
def settings(tmp_path: Path, fake_root: str) -> Settings:
    return settings_for(tmp_path, fake_root)


async def user_with_keys(app: FastAPI, name: str = "alice", **keys: str) -> tuple[int, str]:
    user_id, token = await new_user(app, name)
    runtime: Runtime = app.state.runtime
    await update_profile(
        db=runtime.db, keyring=runtime.keyring, user_id=user_id, changes=keys or KEYS
    )
    return user_id, token


async def chat(
    client: httpx.AsyncClient, token: str, provider: str = "openai", content: str = "Hello"
) -> httpx.Response:
    body = {
        "chatSettings": {"model": MODELS[provider]},
        "messages": [{"role": "user", "content": content}],
    }
    return await client.post(
        f"/api/chat/{provider}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


async def ledger_rows(app: FastAPI) -> list[Any]:
    runtime: Runtime = app.state.runtime
    assert await runtime.usage.ledger.flush()
    async with runtime.db.engine.connect() as conn:
        return list((await conn.execute(select(usage).order_by(usage.c.id))).all())


@pytest.mark.parametrize("provider", sorted(FAKE_USAGE))
async def test_an_answer_leaves_one_row_with_the_providers_own_counts(
    app: FastAPI, client: httpx.AsyncClient, provider: str
) -> None:
    user_id, token = await user_with_keys(app)
    response = await chat(client, token, provider)
    assert response.status_code == 200, response.text
    assert response.text.startswith("This is a streamed answer")
    [row] = await ledger_rows(app)
    prompt, completion = FAKE_USAGE[provider]
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (prompt, completion, False)
    assert row.user_id == user_id
    assert row.token_id is not None
    assert row.sign_in == "token"
    assert (row.route, row.provider, row.model) == (
        f"/api/chat/{provider}",
        provider,
        MODELS[provider],
    )
    assert row.outcome == "complete"
    assert row.request_id == response.headers["x-request-id"]
    assert 0 < row.ttfb_ms <= row.duration_ms
    assert row.day == datetime.now(UTC).date()


async def test_a_provider_refusing_the_key_leaves_a_row_that_cost_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await user_with_keys(app, openai_api_key="sk-wrong-bad")
    response = await chat(client, token)
    assert response.status_code == 401
    [row] = await ledger_rows(app)
    assert (row.outcome, row.prompt_tokens, row.completion_tokens, row.ttfb_ms) == (
        "401",
        0,
        0,
        None,
    )


async def test_a_request_refused_before_the_provider_leaves_no_row(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await user_with_keys(app)
    bad_body = await client.post(
        "/api/chat/openai", content=b"{", headers={"Authorization": f"Bearer {token}"}
    )
    assert bad_body.status_code == 400
    no_key = await chat(client, (await new_user(app, "bob"))[1])
    assert no_key.status_code == 400
    assert await ledger_rows(app) == []


async def test_metrics_count_tokens_by_provider_model_and_kind_and_time_to_first_byte(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await user_with_keys(app)
    assert (await chat(client, token)).status_code == 200
    assert (await chat(client, token, "anthropic")).status_code == 200
    metrics = (await client.get("/metrics")).text
    labels = 'kind="{}",model="gpt-4o",provider="openai"'
    assert f"chatgate_tokens_total{{{labels.format('prompt')}}} 5.0" in metrics
    assert f"chatgate_tokens_total{{{labels.format('completion')}}} 9.0" in metrics
    claude = 'kind="completion",model="claude-sonnet-4-5",provider="anthropic"'
    assert f"chatgate_tokens_total{{{claude}}} 12.0" in metrics
    assert 'chatgate_time_to_first_byte_seconds_count{provider="openai"} 1.0' in metrics
    assert "chatgate_usage_rows_dropped_total 0.0" in metrics


async def test_usage_report_shows_the_callers_own_by_day_model_and_provider(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, alice = await user_with_keys(app, "alice")
    _, bob = await user_with_keys(app, "bob")
    for provider in ("openai", "openai", "anthropic"):
        assert (await chat(client, alice, provider)).status_code == 200
    assert (await chat(client, bob, "google")).status_code == 200
    await ledger_rows(app)
    auth = {"Authorization": f"Bearer {alice}"}

    by_provider = (await client.get("/api/usage?group_by=provider", headers=auth)).json()
    today = datetime.now(UTC).date()
    assert by_provider["group_by"] == "provider"
    assert by_provider["until"] == today.isoformat()
    assert (today - datetime.fromisoformat(by_provider["since"]).date()).days == 29
    assert by_provider["rows"] == [
        {
            "key": "anthropic",
            "requests": 1,
            "prompt_tokens": 10,
            "completion_tokens": 12,
            "total_tokens": 22,
            "estimated_requests": 0,
        },
        {
            "key": "openai",
            "requests": 2,
            "prompt_tokens": 10,
            "completion_tokens": 18,
            "total_tokens": 28,
            "estimated_requests": 0,
        },
    ]
    by_model = (await client.get("/api/usage?group_by=model", headers=auth)).json()
    keys = [row["key"] for row in by_model["rows"]]
    assert keys == ["anthropic/claude-sonnet-4-5", "openai/gpt-4o"]
    by_day = (await client.get("/api/usage", headers=auth)).json()
    assert by_day["group_by"] == "day"
    assert [(r["key"], r["requests"], r["total_tokens"]) for r in by_day["rows"]] == [
        (today.isoformat(), 3, 50)
    ]
    before = (await client.get("/api/usage?since=2020-01-01&until=2020-01-31", headers=auth)).json()
    assert before["rows"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("group_by=user", "group_by must be one of day, model, provider"),
        ("since=01-02-2026", "since must be a date as YYYY-MM-DD (UTC), not '01-02-2026'"),
        ("since=2024-01-01&until=2026-01-01", "must span at most 366 days"),
        ("since=2026-01-02&until=2026-01-01", "since must not be after until"),
    ],
)
async def test_usage_report_refuses_bad_input_with_a_clear_400(
    app: FastAPI, client: httpx.AsyncClient, query: str, message: str
) -> None:
    _, token = await new_user(app)
    response = await client.get(f"/api/usage?{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert message in response.json()["message"]


async def test_usage_report_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/usage")).status_code == 401


async def quota_app(tmp_path: Path, fake_root: str, **limits: int) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(tmp_path, fake_root, **limits))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def daily_app(tmp_path: Path, fake_root: str) -> AsyncIterator[FastAPI]:
    async for application in quota_app(tmp_path, fake_root, default_tokens_per_day=20):
        yield application


async def test_a_user_over_the_daily_quota_gets_a_429_until_midnight_utc(
    daily_app: FastAPI,
) -> None:
    transport = httpx.ASGITransport(app=daily_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
        _, token = await user_with_keys(daily_app)
        assert (await chat(client, token)).status_code == 200  # 14 tokens of 20
        assert (await chat(client, token)).status_code == 200  # 28: crosses it, finishes
        refused = await chat(client, token)
        assert refused.status_code == 429
        assert refused.json() == {
            "message": "Daily token quota of 20 reached; it resets at 00:00 UTC"
        }
        now = datetime.now(UTC)
        to_midnight = 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
        assert abs(int(refused.headers["retry-after"]) - to_midnight) <= 2
        assert len(await ledger_rows(daily_app)) == 2  # the refusal is no row
        metrics = (await client.get("/metrics")).text
        assert 'chatgate_quota_refusals_total{period="day"} 1.0' in metrics
        # Another user has a quota of their own.
        _, other = await user_with_keys(daily_app, "bob")
        assert (await chat(client, other)).status_code == 200


async def test_a_users_own_quota_overrides_the_default(daily_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=daily_app)
    runtime: Runtime = daily_app.state.runtime
    async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
        user_id, token = await user_with_keys(daily_app)
        await runtime.usage.store.set_quota(user_id=user_id, changes={"tokens_per_day": 0})
        for _ in range(3):  # 0: no limit for this user
            assert (await chat(client, token)).status_code == 200
        await runtime.usage.store.set_quota(user_id=user_id, changes={"tokens_per_day": 50})
        runtime.usage.quotas.forget(user_id)
        assert (await chat(client, token)).status_code == 200  # 42 used before it
        refused = await chat(client, token)
        assert refused.json()["message"].startswith("Daily token quota of 50 reached")


async def test_the_monthly_quota_resets_on_the_first(tmp_path: Path, fake_root: str) -> None:
    async for application in quota_app(
        tmp_path, fake_root, default_tokens_per_day=1000, default_tokens_per_month=10
    ):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
            _, token = await user_with_keys(application)
            assert (await chat(client, token)).status_code == 200
            refused = await chat(client, token)
            assert refused.status_code == 429
            assert refused.json()["message"] == (
                "Monthly token quota of 10 reached; it resets on the 1st at 00:00 UTC"
            )
            assert int(refused.headers["retry-after"]) > 0
