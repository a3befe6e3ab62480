"""The queries of the usage ledger and the token quotas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import String, bindparam, case, cast, func, insert, literal, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ColumnElement

from chatgate.db.queries import Database, utcnow
from chatgate.db.tables import users
from chatgate.db.usage_tables import quotas, usage

GroupBy = Literal["day", "model", "provider", "user"]


@dataclass(slots=True)  # not frozen: one is built per answer, and frozen fields cost more to set
class UsageRow:
    """One chat request that went to a provider, as the ledger keeps it."""

    created_at: datetime  # UTC
    user_id: int
    token_id: int | None
    sign_in: str  # how the caller signed in ("token")
    route: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    estimated: bool
    outcome: str  # complete, client_gone, cut_off, or the error status
    ttfb_ms: float | None
    duration_ms: float
    request_id: str

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def values(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at,
            "day": self.created_at.date(),
            "user_id": self.user_id,
            "token_id": self.token_id,
            "sign_in": self.sign_in,
            "route": self.route,
            "provider": self.provider,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "estimated": self.estimated,
            "outcome": self.outcome,
            "ttfb_ms": self.ttfb_ms,
            "duration_ms": self.duration_ms,
            "request_id": self.request_id,
        }


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One line of a usage report: the requests and tokens of one key."""

    key: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    estimated_requests: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class QuotaOverride:
    """A user's own quotas: None, the server's default; 0, no limit."""

    tokens_per_day: int | None
    tokens_per_month: int | None


class UsageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_rows(self, rows: Sequence[UsageRow]) -> None:
        async with self.db._begin() as conn:
            if conn.dialect.name == "sqlite":
                # Straight to the driver, as SQLAlchemy would store them: its
                # per-value conversions cost more than SQLite's own insert.
                await conn.exec_driver_sql(_SQLITE_INSERT, [_sqlite_values(row) for row in rows])
            else:
                await conn.execute(insert(usage), [row.values() for row in rows])

    async def token_sums(self, *, user_id: int, day: date, month_start: date) -> tuple[int, int]:
        """The user's tokens on ``day`` and from ``month_start`` to ``day``."""
        total = usage.c.prompt_tokens + usage.c.completion_tokens
        query = select(
            func.coalesce(func.sum(case((usage.c.day == day, total), else_=0)), 0),
            func.coalesce(func.sum(total), 0),
        ).where(usage.c.user_id == user_id, usage.c.day >= month_start, usage.c.day <= day)
        async with self.db._begin() as conn:
            row = (await conn.execute(query)).one()
        return int(row[0]), int(row[1])

    async def report(
        self, *, since: date, until: date, group_by: GroupBy, user_id: int | None = None
    ) -> list[UsageLine]:
        """Requests and tokens from ``since`` to ``until`` (both included), by key."""
        key = _report_key(group_by)
        query = (
            select(
                key.label("key"),
                func.count(),
                func.coalesce(func.sum(usage.c.prompt_tokens), 0),
                func.coalesce(func.sum(usage.c.completion_tokens), 0),
                func.coalesce(func.sum(case((usage.c.estimated, 1), else_=0)), 0),
            )
            .where(usage.c.day >= since, usage.c.day <= until)
            .group_by(key)
            .order_by(key)
        )
        if group_by == "user":
            query = query.select_from(usage.outerjoin(users, users.c.id == usage.c.user_id))
        if user_id is not None:
            query = query.where(usage.c.user_id == user_id)
        async with self.db._begin() as conn:
            rows = (await conn.execute(query)).all()
        return [
            UsageLine(
                key=_key_text(row[0]),
                requests=int(row[1]),
                prompt_tokens=int(row[2]),
                completion_tokens=int(row[3]),
                estimated_requests=int(row[4]),
            )
            for row in rows
        ]

    async def get_quota(self, *, user_id: int) -> QuotaOverride | None:
        query = select(quotas.c.tokens_per_day, quotas.c.tokens_per_month).where(
            quotas.c.user_id == user_id
        )
        async with self.db._begin() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else QuotaOverride(row[0], row[1])

    async def set_quota(self, *, user_id: int, changes: Mapping[str, int | None]) -> None:
        """Set ``tokens_per_day`` and/or ``tokens_per_month`` (None: back to the default)."""
        values = {**changes, "updated_at": utcnow()}
        async with self.db._begin() as conn:
            result = await conn.execute(
                update(quotas).where(quotas.c.user_id == user_id).values(**values)
            )
            if not result.rowcount:
                await conn.execute(insert(quotas).values(user_id=user_id, **values))


_COLUMNS = [column.name for column in usage.columns if column.name != "id"]
_SQLITE_INSERT = str(
    insert(usage)
    .values({name: bindparam(name) for name in _COLUMNS})
    .compile(dialect=sqlite.dialect())
)


def _sqlite_values(row: UsageRow) -> tuple[Any, ...]:
    # SQLAlchemy's SQLite DATETIME and DATE formats: "YYYY-MM-DD HH:MM:SS.ffffff", "YYYY-MM-DD".
    created = row.created_at.isoformat(" ", "microseconds")[:26]
    return (
        created,
        created[:10],
        row.user_id,
        row.token_id,
        row.sign_in,
        row.route,
        row.provider,
        row.model,
        row.prompt_tokens,
        row.completion_tokens,
        row.cached_tokens,
        int(row.estimated),
        row.outcome,
        row.ttfb_ms,
        row.duration_ms,
        row.request_id,
    )


def _report_key(group_by: GroupBy) -> ColumnElement[Any]:
    if group_by == "day":
        return usage.c.day
    if group_by == "model":
        return usage.c.provider + literal("/") + usage.c.model
    if group_by == "provider":
        return usage.c.provider
    # A user deleted since: their id, so the rows still add up.
    return func.coalesce(users.c.username, literal("#") + cast(usage.c.user_id, String))


def _key_text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
