"""The usage ledger and token quotas of a running app, started and stopped with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatgate.db.queries import Database
from chatgate.db.usage_queries import UsageStore
from chatgate.metrics import Metrics
from chatgate.settings import Settings
from chatgate.usage.ledger import Ledger, UsageCounters
from chatgate.usage.quotas import Quotas

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Usage:
    def __init__(
        self, *, settings: Settings, db: Database, metrics: Metrics, redis: Redis | None = None
    ) -> None:
        counters: UsageCounters | None = None
        if redis is not None:
            # Imported only when configured, as the limits do: Redis's client is heavy.
            from chatgate.usage.redis_counters import RedisUsageCounters

            counters = RedisUsageCounters(redis)
        self.counters = counters
        self.store = UsageStore(db)
        self.ledger = Ledger(self.store, metrics=metrics, counters=counters)
        self.quotas = Quotas(
            self.store,
            ledger=self.ledger,
            metrics=metrics,
            per_day=settings.default_tokens_per_day,
            per_month=settings.default_tokens_per_month,
            counters=counters,
        )

    def start(self) -> None:
        self.ledger.start()

    async def stop(self) -> None:
        """Write what the ledger still holds (before the database closes)."""
        await self.ledger.stop()
        if self.counters is not None:
            await self.counters.close()
