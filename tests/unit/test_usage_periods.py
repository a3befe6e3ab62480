"""Quota periods and limits, usage report ranges, and a request's meter."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chatgate.db.usage_queries import QuotaOverride
from chatgate.errors import BadRequest, QuotaExceeded
from chatgate.usage.meter import RequestInfo, UsageMeter
from chatgate.usage.quotas import Limits, Period, effective_limits
from chatgate.usage.report import report_range


def test_a_day_and_a_month_end_at_midnight_utc() -> None:
    period = Period.at(datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC))
    assert period.day == date(2026, 12, 31)
    assert period.month_start == date(2026, 12, 1)
    assert period.seconds_left_in_day == 30
    assert period.seconds_left_in_month == 30
    february = Period.at(datetime(2028, 2, 28, 0, 0, tzinfo=UTC))
    assert february.seconds_left_in_day == 86_400
    assert february.seconds_left_in_month == 2 * 86_400  # a leap year's 29th


def test_quota_messages_say_when_they_reset() -> None:
    daily = QuotaExceeded(period="day", limit=50_000, retry_after=30)
    assert daily.status == 429
    assert daily.message == "Daily token quota of 50000 reached; it resets at 00:00 UTC"
    assert daily.headers() == {"Retry-After": "30"}
    assert daily.code == "insufficient_quota"
    monthly = QuotaExceeded(period="month", limit=9, retry_after=3600)
    assert monthly.message == "Monthly token quota of 9 reached; it resets on the 1st at 00:00 UTC"


def test_a_users_own_quota_replaces_the_default_and_zero_means_no_limit() -> None:
    assert effective_limits(None, per_day=100, per_month=None) == Limits(100, None)
    own = QuotaOverride(tokens_per_day=0, tokens_per_month=None)
    assert effective_limits(own, per_day=100, per_month=1000) == Limits(None, 1000)
    assert effective_limits(QuotaOverride(5, 50), per_day=None, per_month=None) == Limits(5, 50)


def test_a_report_defaults_to_the_last_30_days() -> None:
    span = report_range(None, None, today=date(2026, 3, 5))
    assert (span.since, span.until) == (date(2026, 2, 4), date(2026, 3, 5))
    one_day = report_range("2026-01-01", "2026-01-01")
    assert one_day.since == one_day.until == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2026-1-1", None, "since must be a date as YYYY-MM-DD (UTC), not '2026-1-1'"),
        (None, "yesterday", "until must be a date as YYYY-MM-DD (UTC), not 'yesterday'"),
        ("2026-02-30", None, "since must be a date as YYYY-MM-DD (UTC), not '2026-02-30'"),
        ("2026-03-02", "2026-03-01", "since must not be after until"),
        ("2025-01-01", "2026-01-02", "the range from since to until must span at most 366 days"),
    ],
)
def test_a_bad_report_range_is_a_clear_400(
    since: str | None, until: str | None, message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        report_range(since, until, today=date(2026, 3, 5))
    assert caught.value.message == message


def meter(provider: str = "openai") -> UsageMeter:
    info = RequestInfo(
        user_id=1,
        token_id=2,
        sign_in="token",
        route=f"/api/chat/{provider}",
        provider=provider,
        model="m",
        request_id="r1",
    )
    return UsageMeter(info, messages=[{"role": "user", "content": "x" * 40}])


def test_a_meter_reads_the_text_and_the_usage_of_the_events_it_is_fed() -> None:
    metered = meter()
    text = metered.wrap(lambda event: event.get("text", ""))
    assert text({"text": "abcdefgh"}) == "abcdefgh"
    text({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    row = metered.finish("complete")
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (3, 4, False)
    assert row.ttfb_ms is not None
    assert row.duration_ms >= row.ttfb_ms
    assert (row.user_id, row.token_id, row.route) == (1, 2, "/api/chat/openai")
    assert row.request_id == "r1"


def test_an_answer_cut_short_counts_what_was_streamed() -> None:
    metered = meter()
    metered.observe({}, "x" * 20)
    row = metered.finish("cut_off")
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (16, 5, True)


def test_a_refusal_before_any_text_costs_nothing() -> None:
    row = meter().finish("401")
    assert (row.prompt_tokens, row.completion_tokens, row.estimated, row.ttfb_ms) == (
        0,
        0,
        False,
        None,
    )
