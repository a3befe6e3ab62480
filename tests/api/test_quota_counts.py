"""A quota counts each row once, even when a write of this instance's rows lands
while its query of the database's sums runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chatgate.db.engine import make_engine
from chatgate.db.migrate import migrate
from chatgate.db.queries import Database
from chatgate.db.usage_queries import QuotaOverride, UsageStore
from chatgate.metrics import Metrics
from chatgate.usage.ledger import Ledger
from chatgate.usage.quotas import Period, Quotas
from tests.api.test_quotas_shared import COST, usage_row


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, int]]:
    """A migrated SQLite database and the id of its one user."""
    db = Database(make_engine(f"sqlite:///{tmp_path / 'chatgate.db'}"))
    await migrate(db.engine)
    try:
        user = await db.create_user(username="alice")
        yield db, user.id
    finally:
        await db.close()


class SlowSums(UsageStore):
    """The real store, whose sums wait until the test lets them run."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.asked = asyncio.Event()
        self.go_on = asyncio.Event()

    async def token_sums(self, *, user_id: int, day: date, month_start: date) -> tuple[int, int]:
        self.asked.set()
        await self.go_on.wait()
        return await super().token_sums(user_id=user_id, day=day, month_start=month_start)


async def test_rows_written_during_the_quota_query_count_once(
    database: tuple[Database, int],
) -> None:
    db, user_id = database
    store, metrics = SlowSums(db), Metrics()
    ledger = Ledger(store, metrics=metrics, interval=3600)  # written only when told
    quotas = Quotas(store, ledger=ledger, metrics=metrics, per_day=1000, per_month=None)
    for number in range(6):
        ledger.record(usage_row(user_id, number))  # 600 tokens, not written yet

    checking = asyncio.create_task(quotas.check(user_id))
    await store.asked.wait()  # the query has started, the 600 unwritten counted...
    assert await ledger.flush()  # ...and now they are written before it reads
    store.go_on.set()
    await checking  # 600 of 1,000 used: not refused

    day_used, _ = await quotas.used(user_id, Period.at(datetime.now(UTC)))
    assert day_used == 6 * COST


class CountedQuotas(UsageStore):
    """The real store, counting the quota reads that reach the database."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.quota_reads = 0

    async def get_quota(self, *, user_id: int) -> QuotaOverride | None:
        self.quota_reads += 1
        await asyncio.sleep(0.01)  # long enough for the whole burst to arrive meanwhile
        return await super().get_quota(user_id=user_id)


async def test_a_burst_of_requests_reads_a_users_quota_once(database: tuple[Database, int]) -> None:
    db, user_id = database
    store, metrics = CountedQuotas(db), Metrics()
    ledger = Ledger(store, metrics=metrics, interval=3600)
    quotas = Quotas(store, ledger=ledger, metrics=metrics, per_day=None, per_month=None)

    await asyncio.gather(*(quotas.check(user_id) for _ in range(500)))
    assert store.quota_reads == 1

    quotas.forget(user_id)  # the quota was changed: read again
    await asyncio.gather(*(quotas.check(user_id) for _ in range(500)))
    assert store.quota_reads == 2


async def test_a_check_near_the_end_of_the_cached_sums_does_not_wait_for_the_next(
    database: tuple[Database, int],
) -> None:
    db, user_id = database
    store, metrics = SlowSums(db), Metrics()
    ledger = Ledger(store, metrics=metrics, interval=3600)
    # Generous times: a busy machine may wake the test late by a few tenths of a second.
    quotas = Quotas(
        store, ledger=ledger, metrics=metrics, per_day=1000, per_month=None, cache_seconds=2.0
    )
    store.go_on.set()
    await quotas.check(user_id)  # the sums read once: 0 used
    await asyncio.sleep(1.6)  # in the cached figure's last quarter
    store.go_on.clear()
    store.asked.clear()  # the database is slow now
    async with asyncio.timeout(0.3):  # the sums are held: waiting for them would time out
        await quotas.check(user_id)
    await asyncio.wait_for(store.asked.wait(), 1)  # read again, in the background
    ledger.record(usage_row(user_id, 0))  # meanwhile an answer ends
    store.go_on.set()
    await asyncio.sleep(0.05)
    day_used, _ = await quotas.used(user_id, Period.at(datetime.now(UTC)))
    assert day_used == COST  # the answer counted once, by the new figure


class HeldCounters:
    """Shared counters (Redis's part) in memory, whose adds land at once but are
    acknowledged only when the test lets them."""

    def __init__(self) -> None:
        self.tokens: dict[tuple[int, date], int] = {}
        self.landed = asyncio.Event()
        self.acknowledge = asyncio.Event()

    async def add(self, tokens: dict[tuple[int, date], int]) -> None:
        for key, count in tokens.items():
            self.tokens[key] = self.tokens.get(key, 0) + count
        self.landed.set()
        await self.acknowledge.wait()

    async def read(self, *, user_id: int, day: date) -> tuple[int, int]:
        return self.tokens.get((user_id, day), 0), self.tokens.get((user_id, day), 0)

    async def close(self) -> None:
        return None


async def test_counts_sent_but_not_yet_acknowledged_count_once(
    database: tuple[Database, int],
) -> None:
    db, user_id = database
    store, metrics, counters = UsageStore(db), Metrics(), HeldCounters()
    ledger = Ledger(store, metrics=metrics, counters=counters, interval=3600)
    quotas = Quotas(
        store, ledger=ledger, metrics=metrics, per_day=1000, per_month=None, counters=counters
    )
    ledger.record(usage_row(user_id, 0))  # COST tokens, not yet sent
    flushing = asyncio.create_task(ledger.flush())
    await counters.landed.wait()  # in the shared counters, and still in the unsent ones
    period = Period.at(datetime.now(UTC))
    reading = asyncio.create_task(quotas.used(user_id, period))
    await asyncio.sleep(0.05)
    counters.acknowledge.set()
    assert await flushing
    day_used, _ = await reading
    assert day_used == COST
