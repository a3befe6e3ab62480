"""Per-user limits: chat requests a minute and answers streaming at once.

In memory by default (one instance); with CHATGATE_REDIS_URL every instance
shares the counts. Both count a request per fixed minute window, as a
``INCR`` + ``EXPIRE`` pair does, so the two behave the same.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Protocol

from chatgate.errors import TooManyRequests

if TYPE_CHECKING:
    from redis.asyncio import Redis

WINDOW = 60
# A stream lease left behind by a crashed instance stops counting after this long.
LEASE_SECONDS = 3600
NO_LIMIT: AbstractAsyncContextManager[None] = nullcontext()


def rate_error(limit: int, now: float) -> TooManyRequests:
    retry_after = max(1, math.ceil(WINDOW - now % WINDOW))
    return TooManyRequests(
        f"Rate limit reached: {limit} chat requests a minute; try again in {retry_after} s",
        retry_after=retry_after,
    )


def streams_error(limit: int) -> TooManyRequests:
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
            raise rate_error(self.per_minute, now)

    def stream_slot(self, user_id: int, request_id: str) -> AbstractAsyncContextManager[None]:
        if self.max_streams is None:
            return NO_LIMIT  # the common case costs no generator per request
        return self._counted_slot(user_id, self.max_streams)

    @asynccontextmanager
    async def _counted_slot(self, user_id: int, limit: int) -> AsyncIterator[None]:
        if self._streams[user_id] >= limit:
            raise streams_error(limit)
        self._streams[user_id] += 1
        try:
            yield
        finally:
            self._streams[user_id] -= 1
            if not self._streams[user_id]:
                del self._streams[user_id]

    async def close(self) -> None:
        return None


def make_limiter(
    *, redis: Redis | None, per_minute: int | None, max_streams: int | None
) -> Limiter:
    if redis is not None:
        # Imported only when configured: the Redis client weighs 15 MB of imports.
        from chatgate.redis_limits import RedisLimiter

        return RedisLimiter(redis, per_minute=per_minute, max_streams=max_streams)
    return MemoryLimiter(per_minute=per_minute, max_streams=max_streams)
