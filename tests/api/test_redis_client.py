"""With CHATGATE_REDIS_URL, a process holds one Redis client for its limits and
its identity feed (needs the Redis at 127.0.0.1:6379; uses db 9)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from redis.asyncio import Redis

from chatgate.app import create_app
from chatgate.identities import CHANNEL
from chatgate.redis_client import client_name
from chatgate.settings import Settings
from tests.api.conftest import new_user

REDIS_URL = "redis://127.0.0.1:6379/9"
CHAT = {"chatSettings": {"model": "gpt-4o"}, "messages": [{"role": "user", "content": "hi"}]}


async def connections_of_this_process(redis: Redis) -> int:
    clients = await redis.client_list()
    return sum(1 for c in clients if c.get("name") == client_name())


async def test_limits_and_identity_feed_share_one_connection_pool(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=REDIS_URL, rate_limit_per_minute=100)
    app = create_app(settings)
    observer = Redis.from_url(REDIS_URL)
    try:
        async with app.router.lifespan_context(app):
            for _ in range(50):  # the identity feed subscribes in the background
                if (await observer.pubsub_numsub(CHANNEL))[0][1]:
                    break
                await asyncio.sleep(0.05)
            _, token = await new_user(app)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as http:
                headers = {"Authorization": f"Bearer {token}"}
                await http.post("/api/chat/openai", json=CHAT, headers=headers)  # counts a rate
                patched = await http.patch(
                    "/api/profile", json={"openai_organization_id": "org-x"}, headers=headers
                )  # announces a change
                assert patched.status_code == 200
            # The subscription's own connection, and one for every command in turn.
            assert await connections_of_this_process(observer) == 2
        assert await connections_of_this_process(observer) == 0
    finally:
        await observer.aclose()
