"""Every instance's tokens per user, day and month, added up in Redis
(CHATGATE_REDIS_URL): what lets instances agree on quotas within moments."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatgate.errors import ServiceUnavailable

DAY_TTL = 2 * 86_400
MONTH_TTL = 32 * 86_400


def day_key(user_id: int, day: date) -> str:
    return f"chatgate:tokens:{user_id}:{day:%Y-%m-%d}"


def month_key(user_id: int, day: date) -> str:
    return f"chatgate:tokens:{user_id}:{day:%Y-%m}"


class RedisUsageCounters:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis  # the process's one client (chatgate.redis_client)

    async def add(self, tokens: dict[tuple[int, date], int]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (user_id, day), count in tokens.items():
                    pipe.incrby(day_key(user_id, day), count)
                    pipe.expire(day_key(user_id, day), DAY_TTL)
                    pipe.incrby(month_key(user_id, day), count)
                    pipe.expire(month_key(user_id, day), MONTH_TTL)
                await pipe.execute()
        except RedisError as exc:
            raise ServiceUnavailable("The usage counter store (Redis) is unavailable") from exc

    async def read(self, *, user_id: int, day: date) -> tuple[int, int]:
        try:
            values = await self.redis.mget([day_key(user_id, day), month_key(user_id, day)])
        except RedisError as exc:
            raise ServiceUnavailable("The usage counter store (Redis) is unavailable") from exc
        return int(values[0] or 0), int(values[1] or 0)

    async def close(self) -> None:
        return None  # the client is the runtime's, closed by it
