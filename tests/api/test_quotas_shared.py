"""Quotas shared by two instances on one PostgreSQL (and Redis): each instance is
its own ledger and quota checker on its own connection pool, as two
`chatgate serve` processes are."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
import redis.asyncio
from sqlalchemy import func, select

from chatgate.db.engine import make_engine
from chatgate.db.migrate import migrate
from chatgate.db.queries import Database
from chatgate.db.usage_queries import UsageRow, UsageStore
from chatgate.db.usage_tables import usage
from chatgate.errors import QuotaExceeded
from chatgate.metrics import Metrics
from chatgate.redis_client import connect_redis
from chatgate.usage.ledger import Ledger
from chatgate.usage.quotas import Quotas
from chatgate.usage.redis_counters import RedisUsageCounters, day_key, month_key
from tests.api.test_ledger import row
from tests.e2e.conftest import postgres_database

pytestmark = pytest.mark.postgres

REDIS_URL = os.environ.get("CHATGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
QUOTA = 1000
COST = 100  # tokens per answer


def usage_row(user_id: int, number: int) -> UsageRow:
    """The row of one answer that cost COST tokens."""
    return replace(row(number, user_id=user_id, tokens=COST // 2), completion_tokens=COST // 2)


@dataclass
class Instance:
    db: Database
    ledger: Ledger
    quotas: Quotas
    counters: RedisUsageCounters | None

    async def answer(self, user_id: int, number: int) -> None:
        """One chat request: the quota check, then its row once the answer is over."""
        await self.quotas.check(user_id)
        await asyncio.sleep(0.005)
        self.ledger.record(usage_row(user_id, number))

    async def close(self) -> None:
        await self.ledger.stop()
        if self.counters is not None:
            await self.counters.redis.aclose()  # the process's client, as the runtime's
        await self.db.close()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    yield from postgres_database()


@pytest.fixture(params=["postgres", "postgres+redis"])
async def instances(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[tuple[Instance, Instance, int]]:
    first_db = Database(make_engine(database_url))
    await migrate(first_db.engine)
    user = await first_db.create_user(username="u" + os.urandom(4).hex())
    with_redis = request.param.endswith("redis")
    if with_redis:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        today = datetime.now(UTC).date()
        await client.delete(day_key(user.id, today), month_key(user.id, today))
        await client.aclose()
    made = []
    for db in (first_db, Database(make_engine(database_url))):
        counters = RedisUsageCounters(connect_redis(REDIS_URL)) if with_redis else None
        metrics = Metrics()
        ledger = Ledger(UsageStore(db), metrics=metrics, counters=counters, interval=0.02)
        quotas = Quotas(
            UsageStore(db),
            ledger=ledger,
            metrics=metrics,
            per_day=QUOTA,
            per_month=None,
            counters=counters,
            cache_seconds=0.3,
        )
        ledger.start()
        made.append(Instance(db, ledger, quotas, counters))
    yield made[0], made[1], user.id
    for instance in made:
        await instance.close()


async def run_until_refused(instance: Instance, user_id: int, numbers: Iterator[int]) -> int:
    """Answers one after another until the quota refuses one; how many went through."""
    admitted = 0
    while True:
        try:
            await instance.answer(user_id, next(numbers))
        except QuotaExceeded:
            return admitted
        admitted += 1


async def test_two_instances_under_concurrent_load_stop_near_the_quota(
    instances: tuple[Instance, Instance, int],
) -> None:
    first, second, user_id = instances
    numbers = iter(range(10_000))
    workers = [run_until_refused(instance, user_id, numbers) for instance in (first, second) * 4]
    admitted = sum(await asyncio.gather(*workers))
    # Each instance sees its own answers at once and the other's within a
    # flush (Redis) or the cache's life (the database alone), so at worst each
    # lets the quota's worth through plus its other answers under way.
    assert QUOTA // COST <= admitted <= 2 * (QUOTA // COST + 3)
    for instance in (first, second):
        with pytest.raises(QuotaExceeded) as caught:
            await instance.quotas.check(user_id)
        assert caught.value.message == (
            f"Daily token quota of {QUOTA} reached; it resets at 00:00 UTC"
        )
    for instance in (first, second):
        assert await instance.ledger.flush()
    async with first.db.engine.connect() as conn:
        mine = usage.c.user_id == user_id
        rows = await conn.scalar(select(func.count()).where(mine))
        total = usage.c.prompt_tokens + usage.c.completion_tokens
        tokens = await conn.scalar(select(func.sum(total)).where(mine))
    assert rows == admitted  # every answer has its row, once
    assert tokens == admitted * COST


async def test_one_instance_sees_what_the_other_used(
    instances: tuple[Instance, Instance, int],
) -> None:
    first, second, user_id = instances
    await second.quotas.check(user_id)  # the second instance has looked once: 0 used
    for number in range(QUOTA // COST):
        await first.answer(user_id, number)
    with pytest.raises(QuotaExceeded):
        await first.quotas.check(user_id)  # its own answers count at once
    assert await first.ledger.flush()
    if second.counters is not None:
        with pytest.raises(QuotaExceeded):  # Redis: at once
            await second.quotas.check(user_id)
    await asyncio.sleep(0.35)  # the database's figure, once the cached one is stale
    with pytest.raises(QuotaExceeded):
        await second.quotas.check(user_id)
