"""Token quotas per user and UTC day or calendar month, checked before a chat
request goes upstream.

What a user has used is what the database's ledger says (read at most every
``cache_seconds``), plus what this instance recorded since that read, plus
what it had not yet written then: each instance sees its own answers at once
and the others' within ``cache_seconds``. With Redis, every instance also
adds each row's tokens to a per-user day and month counter there, and the
larger of the two figures counts, so instances agree within a flush (half a
second). A quota is a ceiling on starting answers: the answer that crosses it
is finished, the next request is refused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial

from chatgate.db.usage_queries import QuotaOverride, UsageRow, UsageStore
from chatgate.errors import QuotaExceeded, ServiceUnavailable
from chatgate.metrics import Metrics
from chatgate.usage.ledger import Ledger, UsageCounters

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    per_day: int | None
    per_month: int | None


NO_LIMITS = Limits(None, None)


def effective_limits(
    override: QuotaOverride | None, *, per_day: int | None, per_month: int | None
) -> Limits:
    """The user's own quotas over the server's defaults (a user's 0: no limit)."""
    if override is None:
        return Limits(per_day, per_month)
    day = per_day if override.tokens_per_day is None else override.tokens_per_day
    month = per_month if override.tokens_per_month is None else override.tokens_per_month
    return Limits(day or None, month or None)


@dataclass(frozen=True, slots=True)
class Period:
    """The UTC day and month a moment falls in, and how long until each ends."""

    day: date
    month_start: date
    seconds_left_in_day: int
    seconds_left_in_month: int

    @classmethod
    def at(cls, now: datetime) -> Period:
        day = now.date()
        month_start = day.replace(day=1)
        next_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        next_month_start = (month_start + timedelta(days=32)).replace(day=1)
        next_month = datetime.combine(next_month_start, datetime.min.time(), tzinfo=UTC)
        return cls(
            day=day,
            month_start=month_start,
            seconds_left_in_day=max(1, math.ceil((next_day - now).total_seconds())),
            seconds_left_in_month=max(1, math.ceil((next_month - now).total_seconds())),
        )


@dataclass(slots=True)
class _Used:
    """A user's tokens on one day and in its month: the database's at one read,
    and this instance's since then."""

    day: date
    expires: float
    day_tokens: int = 0
    month_tokens: int = 0

    def add(self, row_day: date, tokens: int) -> None:
        if row_day == self.day:
            self.day_tokens += tokens
        if row_day.year == self.day.year and row_day.month == self.day.month:
            self.month_tokens += tokens


# A load counts again when a write lands during its query, at most this often.
LOAD_ATTEMPTS = 3
# The share of a cached figure's life at its end during which a check reads it
# again in the background (answering from it meanwhile).
REFRESH_AHEAD = 0.25


class Quotas:
    def __init__(
        self,
        store: UsageStore,
        *,
        ledger: Ledger,
        metrics: Metrics,
        per_day: int | None,
        per_month: int | None,
        counters: UsageCounters | None = None,
        cache_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.metrics = metrics
        self.per_day = per_day
        self.per_month = per_month
        self.counters = counters
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._limits: dict[int, tuple[float, Limits]] = {}
        self._limits_loading: dict[int, asyncio.Future[Limits]] = {}
        self._used: dict[int, _Used] = {}
        self._loading: dict[int, tuple[_Used, asyncio.Future[_Used]]] = {}
        self._refreshing: set[int] = set()  # users whose figures are read in the background
        ledger.listeners.append(self._on_row)

    async def check(self, user_id: int) -> None:
        """Raise QuotaExceeded when the user has used up a quota."""
        cached = self._limits.get(user_id)
        if cached is not None and cached[1] is NO_LIMITS and cached[0] > time.monotonic():
            return  # the common case, without a coroutine
        limits = await self.limits(user_id)
        if limits is NO_LIMITS:
            return
        period = Period.at(self.clock())
        day_used, month_used = await self.used(user_id, period)
        if limits.per_month is not None and month_used >= limits.per_month:
            self.metrics.quota_refusals.labels("month").inc()
            raise QuotaExceeded(
                period="month", limit=limits.per_month, retry_after=period.seconds_left_in_month
            )
        if limits.per_day is not None and day_used >= limits.per_day:
            self.metrics.quota_refusals.labels("day").inc()
            raise QuotaExceeded(
                period="day", limit=limits.per_day, retry_after=period.seconds_left_in_day
            )

    async def limits(self, user_id: int) -> Limits:
        now = time.monotonic()
        cached = self._limits.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        # One query per user at a time: a burst of requests after the entry
        # expired waits for it rather than asking the database a thousand times.
        loading = self._limits_loading.get(user_id)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Limits] = asyncio.get_running_loop().create_future()
        self._limits_loading[user_id] = future
        try:
            try:
                override = await self.store.get_quota(user_id=user_id)
            except ServiceUnavailable:
                # The database is down: what it said a moment ago, or the defaults
                # (a quota never turns an outage into refused answers).
                limits = cached[1] if cached else Limits(self.per_day, self.per_month)
            else:
                limits = effective_limits(override, per_day=self.per_day, per_month=self.per_month)
                if limits == NO_LIMITS:
                    limits = NO_LIMITS
                if self._limits_loading.get(user_id) is future:  # not forgotten meanwhile
                    self._limits[user_id] = (time.monotonic() + self.cache_seconds, limits)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a load nobody else waits for is not an error
            raise
        finally:
            if self._limits_loading.get(user_id) is future:
                del self._limits_loading[user_id]
        future.set_result(limits)
        return limits

    async def used(self, user_id: int, period: Period) -> tuple[int, int]:
        """Tokens used on the period's day and in its month."""
        entry = self._used.get(user_id)
        left = -1.0 if entry is None else entry.expires - time.monotonic()
        if entry is None or entry.day != period.day or left <= 0:
            loading = self._loading.get(user_id)
            entry = await (loading[1] if loading else self._load(user_id, period))
        elif left < self.cache_seconds * REFRESH_AHEAD and user_id not in self._refreshing:
            # Its last stretch: read again in the background while it answers (rows
            # recorded meanwhile count in both), so no request waits for the sums.
            self._refreshing.add(user_id)
            refresh = asyncio.ensure_future(self._load(user_id, period))
            refresh.add_done_callback(partial(self._refreshed, user_id))
        day_used, month_used = entry.day_tokens, entry.month_tokens
        if self.counters is not None:
            shared = await self._shared(user_id, period)
            day_used, month_used = max(day_used, shared[0]), max(month_used, shared[1])
        return day_used, month_used

    async def _load(self, user_id: int, period: Period) -> _Used:
        """The database's sums, plus what this instance has not written yet;
        rows recorded while the query runs are added as they come.

        A write of this instance's rows that lands while the query runs could put
        them in both the query's sums and the unwritten ones: then it counts again."""
        future: asyncio.Future[_Used] = asyncio.get_running_loop().create_future()
        try:
            for attempt in range(1, LOAD_ATTEMPTS + 1):
                if self.ledger.busy:
                    await self.ledger.until_idle()
                writes = self.ledger.writes
                entry = _Used(day=period.day, expires=time.monotonic() + self.cache_seconds)
                for day, tokens in self.ledger.unsaved.get(user_id, {}).items():
                    entry.add(day, tokens)
                self._loading[user_id] = (entry, future)
                try:
                    day_tokens, month_tokens = await self.store.token_sums(
                        user_id=user_id, day=period.day, month_start=period.month_start
                    )
                except ServiceUnavailable:
                    self._count_from_memory(entry, user_id, period)
                    break
                # A write under way at the end may have landed before the query read.
                settled = not self.ledger.busy and self.ledger.writes == writes
                if settled or attempt == LOAD_ATTEMPTS:
                    entry.day_tokens += day_tokens
                    entry.month_tokens += month_tokens
                    break
        except BaseException as exc:
            del self._loading[user_id]
            future.set_exception(exc)
            future.exception()  # retrieved: a load nobody else waits for is not an error
            raise
        del self._loading[user_id]
        self._used[user_id] = entry
        future.set_result(entry)
        return entry

    def _count_from_memory(self, entry: _Used, user_id: int, period: Period) -> None:
        # Answers go on while the database is down: count from what is known.
        stale = self._used.get(user_id)
        log.warning("token quota: the database is unavailable; counting from memory")
        if stale is not None and stale.day == period.day:
            entry.day_tokens = max(entry.day_tokens, stale.day_tokens)
            entry.month_tokens = max(entry.month_tokens, stale.month_tokens)
        entry.expires = time.monotonic() + 1.0

    async def _shared(self, user_id: int, period: Period) -> tuple[int, int]:
        assert self.counters is not None
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            if self.ledger.busy:
                await self.ledger.until_idle()
            sends = self.ledger.sends
            try:
                day_used, month_used = await self.counters.read(user_id=user_id, day=period.day)
            except ServiceUnavailable:
                return 0, 0  # the database's figure stands
            # Counts sent while Redis was read would be in both: read again. A send
            # still under way may have landed before the read, its reply not yet in.
            settled = not self.ledger.busy and self.ledger.sends == sends
            if settled or attempt == LOAD_ATTEMPTS:
                break
        for (unsent_user, day), tokens in self.ledger.unsent.items():
            if unsent_user == user_id:
                if day == period.day:
                    day_used += tokens
                if day.month == period.day.month and day.year == period.day.year:
                    month_used += tokens
        return day_used, month_used

    def _refreshed(self, user_id: int, done: asyncio.Future[_Used]) -> None:
        self._refreshing.discard(user_id)
        if not done.cancelled():
            done.exception()  # a refresh nobody waits for fails quietly; the next check loads

    def forget(self, user_id: int) -> None:
        """Read the user's quotas again on the next check (they were changed)."""
        self._limits.pop(user_id, None)
        self._limits_loading.pop(user_id, None)  # a query under way may predate the change

    def _on_row(self, row: UsageRow) -> None:
        tokens = row.total_tokens
        if not tokens:
            return
        day = row.created_at.date()
        entry = self._used.get(row.user_id)
        if entry is not None:
            entry.add(day, tokens)
        loading = self._loading.get(row.user_id)
        if loading is not None:
            loading[0].add(day, tokens)
