"""With CHATGATE_REDIS_URL, a process holds one Redis client, with a bounded pool,
for its limits, its identity feed and its usage counters (needs the Redis at
127.0.0.1:6379; uses db 9)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from redis.asyncio import Redis

from chatgate.app import create_app
from chatgate.identities import CHANNEL
from chatgate.redis_client import MAX_CONNECTIONS, client_name, connect_redis
from chatgate.redis_limits import RedisLimiter
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


async def test_a_burst_of_answers_shares_a_bounded_pool_and_none_is_refused() -> None:
    # A thousand answers starting at once: each counts a rate and leases a stream
    # slot. Unbounded, that opened a connection each and some timed out as 503s.
    redis = connect_redis(REDIS_URL)
    limiter = RedisLimiter(redis, per_minute=100_000, max_streams=100_000)
    observer = Redis.from_url(REDIS_URL)
    user_id = int.from_bytes(os.urandom(4), "big")  # keys of its own in db 9
    opened = 0

    async def answer(number: int) -> None:
        await limiter.check_rate(user_id)
        async with limiter.stream_slot(user_id, f"request-{number}"):
            await asyncio.sleep(0.05)

    async def watch() -> None:
        nonlocal opened
        while True:
            opened = max(opened, await connections_of_this_process(observer))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(answer(number) for number in range(1000)))
        assert 0 < opened <= MAX_CONNECTIONS
    finally:
        watcher.cancel()
        await redis.aclose()
        await observer.aclose()
