"""The usage ledger: rows taken from the hot path without waiting, written in
batches off it.

``record`` only appends to a bounded in-memory buffer; a background task
writes the buffer every ``interval`` seconds, or sooner once ``batch`` rows
wait, in one ``executemany``. While the database is down the rows stay, up to
``max_buffered``; the ones that do not fit are dropped and counted
(``chatgate_usage_rows_dropped_total``), so an outage never holds up an answer.
A graceful stop writes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import date
from typing import Protocol

from chatgate.db.usage_queries import UsageRow, UsageStore
from chatgate.errors import ServiceUnavailable
from chatgate.metrics import Metrics

log = logging.getLogger(__name__)


class UsageCounters(Protocol):
    """Where every instance adds its tokens per user and day (Redis)."""

    async def add(self, tokens: dict[tuple[int, date], int]) -> None: ...

    async def read(self, *, user_id: int, day: date) -> tuple[int, int]: ...

    async def close(self) -> None: ...


Listener = Callable[[UsageRow], None]


class Ledger:
    def __init__(
        self,
        store: UsageStore,
        *,
        metrics: Metrics,
        counters: UsageCounters | None = None,
        interval: float = 0.5,
        batch: int = 500,
        max_buffered: int = 100_000,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.counters = counters
        self.interval = interval
        self.batch = batch
        self.max_buffered = max_buffered
        self._buffer: deque[UsageRow] = deque()
        # Tokens recorded but not yet in the database (or in Redis), by user and day:
        # quota checks add them to what the database (or Redis) says.
        self.unsaved: defaultdict[int, defaultdict[date, int]] = defaultdict(_day_counts)
        self.unsent: defaultdict[tuple[int, date], int] = defaultdict(int)
        self.listeners: list[Listener] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # One write at a time: two would both take the rows at the buffer's head.
        self._writing = asyncio.Lock()
        # Batches written and counts sent so far: a quota's reading sees whether one landed.
        self.writes = 0
        self.sends = 0
        self._failing_since: float | None = None
        metrics.usage_rows_buffered.set_function(lambda: len(self._buffer))

    def record(self, row: UsageRow) -> None:
        """Take a row; never waits, never raises."""
        self.metrics.count_usage(row)
        for listener in self.listeners:
            listener(row)
        total = row.total_tokens
        if total and self.counters is not None:
            self.unsent[row.user_id, row.created_at.date()] += total
        if len(self._buffer) >= self.max_buffered:
            self.metrics.usage_rows_dropped.inc()
            return
        self._buffer.append(row)
        if total:
            self.unsaved[row.user_id][row.created_at.date()] += total
        if len(self._buffer) >= self.batch and self._failing_since is None:
            self._wake.set()

    @property
    def busy(self) -> bool:
        """A write of rows or a send of counts is under way: until it ends, its rows
        may be both in the database (or Redis) and in ``unsaved`` (or ``unsent``)."""
        return self._writing.locked()

    async def until_idle(self) -> None:
        """Wait for a write or send under way to end."""
        async with self._writing:
            pass

    def buffered(self) -> int:
        return len(self._buffer)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chatgate-usage-ledger")

    async def stop(self, *, within: float = 5.0) -> None:
        """Stop the writer and write what is left (what cannot be written in
        ``within`` seconds is dropped and counted)."""
        try:
            async with asyncio.timeout(within):
                if self._task is not None:
                    # Let a write under way finish: one cancelled mid-write could
                    # be committed and then written again.
                    self._stopping = True
                    self._wake.set()
                    await self._task
                while self._buffer or self.unsent:
                    if not await self.flush():
                        await asyncio.sleep(0.2)
        except TimeoutError:
            pass
        finally:
            if self._task is not None and not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._buffer:
            log.error("usage ledger: %d rows could not be written at stop", len(self._buffer))
            self.metrics.usage_rows_dropped.inc(len(self._buffer))
            self._buffer.clear()
            self.unsaved.clear()

    async def flush(self) -> bool:
        """Write every buffered row now; False when the database (or Redis) failed."""
        async with self._writing:
            return await self._write()

    async def _write(self) -> bool:
        ok = await self._send_counters()
        while self._buffer:
            rows = [self._buffer[i] for i in range(min(self.batch, len(self._buffer)))]
            try:
                await self.store.insert_rows(rows)
            except ServiceUnavailable:
                self._note_failure()
                return False
            self.writes += 1
            for row in rows:
                self._buffer.popleft()
                if row.total_tokens:
                    self._forget_unsaved(row)
        if ok and self._failing_since is not None:
            down = time.monotonic() - self._failing_since
            log.info("usage ledger: writing again after %.0f s", down)
            self._failing_since = None
        return ok

    async def _send_counters(self) -> bool:
        if self.counters is None or not self.unsent:
            return True
        sending = dict(self.unsent)
        try:
            await self.counters.add(sending)
        except ServiceUnavailable:
            self._note_failure()
            return False
        self.sends += 1
        for key, tokens in sending.items():
            left = self.unsent[key] - tokens
            if left:
                self.unsent[key] = left
            else:
                del self.unsent[key]
        return True

    def _forget_unsaved(self, row: UsageRow) -> None:
        days = self.unsaved[row.user_id]
        day = row.created_at.date()
        days[day] -= row.total_tokens
        if not days[day]:
            del days[day]
            if not days:
                del self.unsaved[row.user_id]

    def _note_failure(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.warning(
                "usage ledger: cannot write (%d rows kept, at most %d)",
                len(self._buffer),
                self.max_buffered,
            )

    async def _run(self) -> None:
        delay = self.interval
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                ok = await self.flush()
            except Exception:
                log.exception("usage ledger: writing failed")
                ok = False
            # While the database is down, try less often (up to every 10 s).
            delay = self.interval if ok else min(max(delay * 2, 1.0), 10.0)


def _day_counts() -> defaultdict[date, int]:
    return defaultdict(int)
