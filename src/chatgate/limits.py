"""Per-user limits: chat requests a minute and answers streaming at once.

In memory by default (one instance); with CHATGATE_REDIS_URL every instance
shares the counts. Both count a request per fixed minute window, as a
``INCR`` + ``EXPIRE`` pair does, so the two behave the same.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatgate.errors import ServiceUnavailable, TooManyRequests

WINDOW = 60
# A stream lease left behind by a crashed instance stops counting after this long.
LEASE_SECONDS = 3600
_NO_LIMIT: AbstractAsyncContextManager[None] = nullcontext()


def _rate_error(limit: int, now: float) -> TooManyRequests:
    retry_after = max(1, math.ceil(WINDOW - now % WINDOW))
    return TooManyRequests(
        f"Rate limit reached: {limit} chat requests a minute; try again in {retry_after} s",
        retry_after=retry_after,
    )


def _streams_error(limit: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many answers at once: at most {limit} per user; wait for one to finish",
        retry_after=1,
    )


class Limiter(Protocol):
    async def check_rate(self, user_id: int) -> None: ...

    def stream_slot(self, user_id: int, request_id: str) -> AbstractAsyncContextManager[None]: ...

    async def close(self) -> None: ...


class MemoryLimiter:
    def __init__(self, *, per_minute: int | None, max_streams: int | None) -> None:
        self.per_minute = per_minute
        self.max_streams = max_streams
        self._windows: dict[int, tuple[int, int]] = {}
        self._streams: defaultdict[int, int] = defaultdict(int)

    async def check_rate(self, user_id: int) -> None:
        if self.per_minute is None:
            return
        now = time.time()
        window = int(now // WINDOW)
        current, count = self._windows.get(user_id, (window, 0))
        count = count + 1 if current == window else 1
        self._windows[user_id] = (window, count)
        if count > self.per_minute:
            raise _rate_error(self.per_minute, now)

    def stream_slot(self, user_id: int, request_id: str) -> AbstractAsyncContextManager[None]:
        if self.max_streams is None:
            return _NO_LIMIT  # the common case costs no generator per request
        return self._counted_slot(user_id, self.max_streams)

    @asynccontextmanager
    async def _counted_slot(self, user_id: int, limit: int) -> AsyncIterator[None]:
        if self._streams[user_id] >= limit:
            raise _streams_error(limit)
        self._streams[user_id] += 1
        try:
            yield
        finally:
            self._streams[user_id] -= 1
            if not self._streams[user_id]:
                del self._streams[user_id]

    async def close(self) -> None:
        return None


# Streams are a sorted set of leases scored by expiry: expired ones are dropped
# before counting, so a crashed instance cannot hold a user's slots for ever.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisLimiter:
    def __init__(self, url: str, *, per_minute: int | None, max_streams: int | None) -> None:
        self.per_minute = per_minute
        self.max_streams = max_streams
        self.redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._instance = os.urandom(6).hex()

    async def check_rate(self, user_id: int) -> None:
        if self.per_minute is None:
            return
        now = time.time()
        key = f"chatgate:rate:{user_id}:{int(now // WINDOW)}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW + 5)
                count, _ = await pipe.execute()
        except RedisError as exc:
            raise ServiceUnavailable("The rate limit store (Redis) is unavailable") from exc
        if int(count) > self.per_minute:
            raise _rate_error(self.per_minute, now)

    def stream_slot(self, user_id: int, request_id: str) -> AbstractAsyncContextManager[None]:
        if self.max_streams is None:
            return _NO_LIMIT
        return self._leased_slot(user_id, request_id, self.max_streams)

    @asynccontextmanager
    async def _leased_slot(self, user_id: int, request_id: str, limit: int) -> AsyncIterator[None]:
        key = f"chatgate:streams:{user_id}"
        member = f"{self._instance}:{request_id}"
        now = time.time()
        try:
            granted = await self._acquire(
                keys=[key],
                args=[now, now + LEASE_SECONDS, limit, member, LEASE_SECONDS],
            )
        except RedisError as exc:
            raise ServiceUnavailable("The rate limit store (Redis) is unavailable") from exc
        if not granted:
            raise _streams_error(limit)
        try:
            yield
        finally:
            with suppress(RedisError):  # else the lease expires by itself
                await self.redis.zrem(key, member)

    async def close(self) -> None:
        await self.redis.aclose()


def make_limiter(
    *, redis_url: str | None, per_minute: int | None, max_streams: int | None
) -> Limiter:
    if redis_url:
        return RedisLimiter(redis_url, per_minute=per_minute, max_streams=max_streams)
    return MemoryLimiter(per_minute=per_minute, max_streams=max_streams)
