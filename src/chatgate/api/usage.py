"""The signed-in user's own usage: requests and tokens by day, model or provider."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.usage.report import parse_group_by, report_range

router = APIRouter(tags=["usage"])

GROUPINGS = ("day", "model", "provider")


class UsageLineView(BaseModel):
    key: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated_requests: int


class UsageReport(BaseModel):
    since: str
    until: str
    group_by: Literal["day", "model", "provider"]
    rows: list[UsageLineView]


@router.get("/api/usage")
async def get_usage(
    runtime: RuntimeDep,
    user: CurrentUser,
    since: str | None = None,
    until: str | None = None,
    group_by: str = "day",
) -> UsageReport:
    """From ``since`` to ``until`` (UTC days, both included; default: the last 30
    days). ``model`` keys read ``<provider>/<model>``; counts the provider did not
    report are estimated, and ``estimated_requests`` says how many were."""
    span = report_range(since, until)
    grouping = parse_group_by(group_by, GROUPINGS)
    lines = await runtime.usage.store.report(
        since=span.since, until=span.until, group_by=grouping, user_id=user.user_id
    )
    return UsageReport(
        since=span.since.isoformat(),
        until=span.until.isoformat(),
        group_by=grouping,
        rows=[UsageLineView.model_validate(line, from_attributes=True) for line in lines],
    )
