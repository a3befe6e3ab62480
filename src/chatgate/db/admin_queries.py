"""The admin's queries over every user: usage by user and model, and all quotas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, cast, func, literal, select

from chatgate.db.queries import Database
from chatgate.db.tables import users
from chatgate.db.usage_queries import QuotaOverride
from chatgate.db.usage_tables import quotas, usage


@dataclass(frozen=True, slots=True)
class UserModelUsage:
    user: str
    model: str  # <provider>/<model>
    requests: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


async def usage_by_user_and_model(
    db: Database, *, since: date, until: date
) -> list[UserModelUsage]:
    """Requests and tokens from ``since`` to ``until`` (both included)."""
    # A user deleted since: their id, so the rows still add up.
    user = func.coalesce(users.c.username, literal("#") + cast(usage.c.user_id, String))
    model = usage.c.provider + literal("/") + usage.c.model
    query = (
        select(
            user,
            model,
            func.count(),
            func.coalesce(func.sum(usage.c.prompt_tokens), 0),
            func.coalesce(func.sum(usage.c.completion_tokens), 0),
        )
        .select_from(usage.outerjoin(users, users.c.id == usage.c.user_id))
        .where(usage.c.day >= since, usage.c.day <= until)
        .group_by(user, model)
        .order_by(user, model)
    )
    async with db._begin() as conn:
        rows = (await conn.execute(query)).all()
    return [UserModelUsage(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


async def all_quotas(db: Database) -> dict[int, QuotaOverride]:
    """Every user's own quotas, by user id (a user without a row: the defaults)."""
    query = select(quotas.c.user_id, quotas.c.tokens_per_day, quotas.c.tokens_per_month)
    async with db._begin() as conn:
        rows = (await conn.execute(query)).all()
    return {r[0]: QuotaOverride(r[1], r[2]) for r in rows}
