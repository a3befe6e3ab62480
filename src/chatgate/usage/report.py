"""The date range and grouping of a usage report, read from what a person typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

from chatgate.db.usage_queries import GroupBy
from chatgate.errors import BadRequest

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class ReportRange:
    since: date
    until: date  # included


def parse_day(value: str, name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD (UTC), not {value[:40]!r}") from None


def report_range(since: str | None, until: str | None, *, today: date | None = None) -> ReportRange:
    """``until`` defaults to today (UTC), ``since`` to 30 days up to ``until``."""
    end = parse_day(until, "until") if until else today or datetime.now(UTC).date()
    start = parse_day(since, "since") if since else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest("since must not be after until")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"the range from since to until must span at most {MAX_DAYS} days")
    return ReportRange(start, end)


def parse_group_by(value: str, allowed: tuple[str, ...]) -> GroupBy:
    if value not in allowed:
        raise BadRequest(f"group_by must be one of {', '.join(allowed)}")
    return cast(GroupBy, value)
