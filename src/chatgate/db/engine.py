"""Building the async engine from a user-facing database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


class BadDatabaseUrl(ValueError):
    pass


def async_url(raw: str) -> URL:
    """``postgresql://`` and ``sqlite:///`` URLs, with their async drivers filled in."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise BadDatabaseUrl(f"not a database URL: {raw.split('@')[-1]!r}") from exc
    backend = url.get_backend_name()
    if backend not in ("postgresql", "postgres", "sqlite"):
        raise BadDatabaseUrl(
            f"unsupported database {backend!r}: use postgresql://... or sqlite:///path"
        )
    if "+" not in url.drivername:
        url = url.set(drivername=_ASYNC_DRIVERS[url.drivername])
    if backend == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def make_engine(raw_url: str) -> AsyncEngine:
    url = async_url(raw_url)
    if url.get_backend_name() == "sqlite":
        # Each aiosqlite connection is a thread: keep them open rather than churn them.
        engine = create_async_engine(
            url, connect_args={"timeout": 15}, pool_size=20, max_overflow=0, pool_timeout=30
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (every chat request) proceed while a profile is written.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
