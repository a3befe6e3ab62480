"""`chatgate usage` and `chatgate user quota`: the operator's view of the usage
ledger, and each user's token quotas. Only click is imported up front."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from chatgate.db.usage_queries import QuotaOverride, UsageLine

DEFAULT = "default"


def quota_value(value: str, option: str) -> int | None:
    """A number of tokens (0: no limit), or None for ``default`` (the server's)."""
    from chatgate.cli import fail

    text = value.strip()
    if text == DEFAULT:
        return None
    if not text.isdigit():
        fail(f"{option} takes a number of tokens (0: no limit) or 'default', not {value!r}", 2)
    return int(text)


@click.command("usage")
@click.option("--user", "username", metavar="NAME", help="Only this user's requests.")
@click.option("--since", metavar="DATE", help="First UTC day, YYYY-MM-DD [30 days ago].")
@click.option("--until", metavar="DATE", help="Last UTC day, YYYY-MM-DD [today].")
@click.option(
    "--by",
    "group_by",
    type=click.Choice(["day", "model", "provider", "user"]),
    default="day",
    show_default=True,
    help="What each line adds up.",
)
def usage_command(
    username: str | None, since: str | None, until: str | None, group_by: str
) -> None:
    """Requests and tokens of the chat requests that went to a provider."""
    from chatgate.cli import current_settings, fail, run_with_db
    from chatgate.db.queries import Database
    from chatgate.db.usage_queries import UsageStore
    from chatgate.errors import BadRequest
    from chatgate.usage.report import parse_group_by, report_range
    from chatgate.users import find_user

    try:
        span = report_range(since, until)
    except BadRequest as exc:
        fail(exc.message, 2)
    grouping = parse_group_by(group_by, ("day", "model", "provider", "user"))

    async def work(db: Database) -> list[UsageLine]:
        user_id = None if username is None else (await find_user(db=db, username=username)).id
        return await UsageStore(db).report(
            since=span.since, until=span.until, group_by=grouping, user_id=user_id
        )

    lines = run_with_db(current_settings(), work)
    click.echo(f"usage from {span.since} to {span.until} (UTC), by {group_by}")
    click.echo(usage_table(group_by, lines))


def usage_table(group_by: str, lines: list[UsageLine]) -> str:
    """Aligned columns, one line per key and a total."""
    headers = (group_by, "requests", "prompt", "completion", "total", "estimated")
    rows = [
        (
            line.key,
            line.requests,
            line.prompt_tokens,
            line.completion_tokens,
            line.total_tokens,
            line.estimated_requests,
        )
        for line in lines
    ]
    total = tuple(sum(int(row[i]) for row in rows) for i in range(1, 6))
    cells = [headers, *[_cells(row) for row in rows], _cells(("total", *total))]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in cells
    )


def _cells(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(row[0:1]) + tuple(f"{value:,}" for value in row[1:])


@click.command("quota")
@click.argument("username")
@click.option("--tokens-per-day", metavar="N|default", help="Tokens per UTC day; 0: no limit.")
@click.option(
    "--tokens-per-month",
    metavar="N|default",
    help="Tokens per UTC calendar month; 0: no limit.",
)
def user_quota(username: str, tokens_per_day: str | None, tokens_per_month: str | None) -> None:
    """Set a user's token quotas, or show them (and what was used) without options.

    \b
    A user's own quota replaces the server's default (CHATGATE_DEFAULT_TOKENS_PER_DAY,
    CHATGATE_DEFAULT_TOKENS_PER_MONTH); 'default' goes back to it. Running
    instances see a change within 5 seconds.
    """
    from datetime import UTC, datetime

    from chatgate.cli import current_settings, run_with_db
    from chatgate.db.queries import Database
    from chatgate.db.usage_queries import QuotaOverride, UsageStore
    from chatgate.usage.quotas import Period
    from chatgate.users import find_user

    changes: dict[str, int | None] = {}
    if tokens_per_day is not None:
        changes["tokens_per_day"] = quota_value(tokens_per_day, "--tokens-per-day")
    if tokens_per_month is not None:
        changes["tokens_per_month"] = quota_value(tokens_per_month, "--tokens-per-month")
    settings = current_settings()

    async def work(db: Database) -> tuple[QuotaOverride | None, int, int]:
        owner = await find_user(db=db, username=username)
        store = UsageStore(db)
        if changes:
            await store.set_quota(user_id=owner.id, changes=changes)
        period = Period.at(datetime.now(UTC))
        day_used, month_used = await store.token_sums(
            user_id=owner.id, day=period.day, month_start=period.month_start
        )
        return await store.get_quota(user_id=owner.id), day_used, month_used

    override, day_used, month_used = run_with_db(settings, work)
    if changes:
        click.echo(f"updated the token quotas of {username}")
    own = override or QuotaOverride(None, None)
    day_line = quota_line("day", own.tokens_per_day, settings.default_tokens_per_day)
    click.echo(f"{day_line}; used today: {day_used:,}")
    month_line = quota_line("month", own.tokens_per_month, settings.default_tokens_per_month)
    click.echo(f"{month_line}; used this month: {month_used:,}")


def quota_line(period: str, own: int | None, default: int | None) -> str:
    if own is None:
        shown = "no limit" if default is None else f"{default:,}"
        return f"tokens per {period}: {shown} (the server's default)"
    return f"tokens per {period}: {'no limit' if own == 0 else f'{own:,}'} (this user's own)"
