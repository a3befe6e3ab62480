"""Per-user limits shared by every instance through Redis (CHATGATE_REDIS_URL)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatgate.errors import ServiceUnavailable
from chatgate.limits import LEASE_SECONDS, NO_LIMIT, WINDOW, rate_error, streams_error

# Streams are a sorted set of leases scored by expiry: expired ones are dropped
# before counting, so a crashed instance cannot hold a user's slots for ever.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


# One round trip, one reply: the count in this minute's window, which expires
# with it (a MULTI/EXEC pipeline of the same costs four commands and replies).
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisLimiter:
    """Fails closed: without Redis a limit answers 503 (see chatgate.redis_client)."""

    def __init__(self, redis: Redis, *, per_minute: int | None, max_streams: int | None) -> None:
        self.per_minute = per_minute
        self.max_streams = max_streams
        self.redis = redis
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._count = self.redis.register_script(_COUNT)
        self._instance = os.urandom(6).hex()

    async def check_rate(self, user_id: int) -> None:
        if self.per_minute is None:
            return
        now = time.time()
        key = f"chatgate:rate:{user_id}:{int(now // WINDOW)}"
        try:
            count = await self._count(keys=[key], args=[WINDOW + 5])
        except RedisError as exc:
            raise ServiceUnavailable("The rate limit store (Redis) is unavailable") from exc
        if int(count) > self.per_minute:
            raise rate_error(self.per_minute, now)

    def stream_slot(self, user_id: int, request_id: str) -> AbstractAsyncContextManager[None]:
        if self.max_streams is None:
            return NO_LIMIT
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
            raise streams_error(limit)
        try:
            yield
        finally:
            with suppress(RedisError):  # else the lease expires by itself
                await self.redis.zrem(key, member)

    async def close(self) -> None:
        return None  # the client is the runtime's, closed by it
