"""The signed-in user's token quotas and what is left of them: GET /api/quota."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.usage.quotas import Period

router = APIRouter(tags=["usage"])


class QuotaView(BaseModel):
    tokens_per_day: int | None = Field(description="null: no daily limit")
    tokens_per_month: int | None = Field(description="null: no monthly limit")
    used_today: int
    used_this_month: int
    left_today: int | None
    left_this_month: int | None


@router.get("/api/quota")
async def get_quota(runtime: RuntimeDep, user: CurrentUser) -> QuotaView:
    """The limits that apply (the user's own, else the server's defaults), and the
    tokens used on this UTC day and calendar month."""
    quotas = runtime.usage.quotas
    limits = await quotas.limits(user.user_id)
    day, month = await quotas.used(user.user_id, Period.at(datetime.now(UTC)))
    return QuotaView(
        tokens_per_day=limits.per_day,
        tokens_per_month=limits.per_month,
        used_today=day,
        used_this_month=month,
        left_today=None if limits.per_day is None else max(0, limits.per_day - day),
        left_this_month=None if limits.per_month is None else max(0, limits.per_month - month),
    )
