"""The ledger against a real database: batches, a graceful stop, an outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatgate.db.engine import make_engine
from chatgate.db.migrate import migrate
from chatgate.db.queries import Database
from chatgate.db.usage_queries import UsageRow, UsageStore
from chatgate.db.usage_tables import usage
from chatgate.metrics import Metrics
from chatgate.usage.ledger import Ledger
from tests.e2e.conftest import postgres_database


def row(number: int, *, user_id: int = 1, tokens: int = 10) -> UsageRow:
    return UsageRow(
        created_at=datetime.now(UTC),
        user_id=user_id,
        token_id=None,
        sign_in="token",
        route="/api/chat/openai",
        provider="openai",
        model="gpt-4o",
        prompt_tokens=tokens,
        completion_tokens=0,
        cached_tokens=0,
        estimated=False,
        outcome="complete",
        ttfb_ms=1.0,
        duration_ms=2.0,
        request_id=f"r{number}",
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'chatgate.db'}"))
    yield database
    await database.close()


async def stored_ids(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return list((await conn.scalars(select(usage.c.request_id).order_by(usage.c.id))).all())


async def test_rows_are_written_in_batches_by_the_background_writer(db: Database) -> None:
    await migrate(db.engine)
    ledger = Ledger(UsageStore(db), metrics=Metrics(), interval=0.05, batch=3)
    ledger.start()
    try:
        for number in range(7):
            ledger.record(row(number))
        await asyncio.sleep(0.5)  # ten of the writer's rounds; no flush asked for
        assert ledger.buffered() == 0
        assert await stored_ids(db) == [f"r{n}" for n in range(7)]
        assert not ledger.unsaved
    finally:
        await ledger.stop()


async def test_a_graceful_stop_writes_what_is_left(db: Database) -> None:
    await migrate(db.engine)
    ledger = Ledger(UsageStore(db), metrics=Metrics(), interval=3600)
    ledger.start()
    for number in range(5):
        ledger.record(row(number))
    await ledger.stop()
    assert await stored_ids(db) == [f"r{n}" for n in range(5)]


async def test_an_outage_keeps_rows_up_to_a_bound_and_counts_the_dropped(db: Database) -> None:
    # No schema yet: every write fails, as with a database that is down.
    metrics = Metrics()
    ledger = Ledger(UsageStore(db), metrics=metrics, max_buffered=4)
    for number in range(6):
        ledger.record(row(number))  # never waits, never raises
    assert not await ledger.flush()
    assert ledger.buffered() == 4
    assert ledger.unsaved[1][datetime.now(UTC).date()] == 40
    rendered = metrics.render().decode()
    assert "chatgate_usage_rows_dropped_total 2.0" in rendered
    assert "chatgate_usage_rows_buffered 4.0" in rendered
    # The database is back: the kept rows go in, in order.
    await migrate(db.engine)
    assert await ledger.flush()
    assert await stored_ids(db) == ["r0", "r1", "r2", "r3"]
    assert ledger.buffered() == 0
    assert not ledger.unsaved


async def test_a_stop_during_an_outage_gives_up_in_time_and_counts_the_rows(
    db: Database,
) -> None:
    metrics = Metrics()
    ledger = Ledger(UsageStore(db), metrics=metrics)
    ledger.start()
    ledger.record(row(1))
    started = asyncio.get_running_loop().time()
    await ledger.stop(within=0.5)
    assert asyncio.get_running_loop().time() - started < 2
    assert "chatgate_usage_rows_dropped_total 1.0" in metrics.render().decode()


async def test_many_rows_at_once_are_each_written_once(db: Database) -> None:
    await migrate(db.engine)
    ledger = Ledger(UsageStore(db), metrics=Metrics(), interval=0.01, batch=50)
    ledger.start()

    async def answer(number: int) -> None:
        await asyncio.sleep(0.001 * (number % 7))
        ledger.record(row(number))

    await asyncio.gather(*(answer(n) for n in range(500)))
    await ledger.stop()
    async with db.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(usage))
        distinct = await conn.scalar(select(func.count(usage.c.request_id.distinct())))
    assert count == distinct == 500


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chatgate.db'}"
    else:
        yield from postgres_database()


async def test_a_row_reads_back_as_it_was_recorded(database_url: str) -> None:
    db = Database(make_engine(database_url))
    try:
        await migrate(db.engine)
        recorded = row(7, user_id=3, tokens=12)
        recorded.token_id = 4
        recorded.completion_tokens = 30
        recorded.cached_tokens = 2
        recorded.estimated = True
        recorded.ttfb_ms = None
        await UsageStore(db).insert_rows([recorded])
        async with db.engine.connect() as conn:
            stored = (await conn.execute(select(usage))).one()._asdict()
    finally:
        await db.close()
    stored.pop("id")
    # SQLite hands back naive datetimes; every one chatgate stores is UTC.
    created = stored["created_at"]
    stored["created_at"] = created if created.tzinfo else created.replace(tzinfo=UTC)
    assert stored == recorded.values()
