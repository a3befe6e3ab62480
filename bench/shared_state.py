"""The state several chatgate instances share, made for one run and removed after
it: a throwaway PostgreSQL database and a Redis database of the benchmark's own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as redis
from redis.exceptions import RedisError

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The tests use Redis database 9; the benchmark empties this one before and after.
REDIS_URL = "redis://127.0.0.1:6379/12"
CONNECT_TIMEOUT_S = 5.0


class StateUnavailable(Exception):
    """PostgreSQL or Redis cannot be reached; the case that needs it is skipped."""


async def _admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise StateUnavailable(f"PostgreSQL at 127.0.0.1:5432 cannot be reached ({exc})") from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def throwaway_database(*scripts: str) -> AsyncIterator[str]:
    """A new database (``chatgate_bench_<hex>``) with ``scripts`` run in it, dropped
    on the way out; its URL."""
    name = f"chatgate_bench_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        if scripts:
            conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
            try:
                for script in scripts:
                    await conn.execute(script)
            finally:
                await conn.close()
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _flush(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        await client.flushdb()
    except (RedisError, OSError) as exc:
        raise StateUnavailable(f"Redis at {url} cannot be reached ({exc})") from exc
    finally:
        await client.aclose()


@asynccontextmanager
async def flushed_redis(url: str = REDIS_URL) -> AsyncIterator[str]:
    """The benchmark's Redis database, emptied before and after; its URL."""
    await _flush(url)
    try:
        yield url
    finally:
        await _flush(url)
