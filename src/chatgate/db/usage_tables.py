"""The usage ledger and the per-user token quotas (migration 0004 creates them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from chatgate.db.tables import metadata

# One row per chat request that went to a provider. No foreign keys: rows are
# written in batches long after the request, and a user or token deleted
# meanwhile must not make a whole batch fail.
usage = Table(
    "usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The UTC day of created_at: what quotas and reports sum by, the same on every database.
    Column("day", Date, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("token_id", Integer, nullable=True),
    Column("sign_in", String(16), nullable=False),
    Column("route", String(64), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("model", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("ttfb_ms", Float, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("request_id", String(32), nullable=False),
    Index("ix_usage_user_id_day", "user_id", "day"),
    Index("ix_usage_day", "day"),
)

# A user's own token quotas; NULL: the server's default; 0: no limit.
quotas = Table(
    "quotas",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("tokens_per_day", BigInteger, nullable=True),
    Column("tokens_per_month", BigInteger, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
