"""Chatbot UI's own tables in a Supabase database, read only.

Only the columns chatgate needs are read, and only those the database has:
older Chatbot UI schemas lack some key columns (``groq_api_key``), which then
read as empty. Which ones exist is asked once, at start. Every transaction is
read-only: chatgate never writes to these tables.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from chatgate.db.engine import async_url
from chatgate.errors import ChatbotUiUnavailable
from chatgate.profile_fields import FIELD_NAMES

log = logging.getLogger(__name__)

MODEL_COLUMNS = ("id", "user_id", "sharing", "base_url", "api_key", "model_id", "name")
DEFAULT_CONTEXT_LENGTH = 4096  # what Chatbot UI's column defaults to


class ChatbotUiSchemaError(RuntimeError):
    """The database has no Chatbot UI tables chatgate can read (a configuration error)."""


@dataclass(frozen=True, slots=True)
class ChatbotUiModelRow:
    id: uuid.UUID
    user_id: uuid.UUID
    sharing: str
    base_url: str
    api_key: str
    model_id: str
    name: str
    context_length: int


@dataclass(frozen=True, slots=True)
class ChatbotUiModelName:
    id: uuid.UUID
    name: str
    created_at: datetime | None  # None: the role may not read it


class ChatbotUiDatabase:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._profiles: sa.TableClause | None = None
        self._models: sa.TableClause | None = None

    @classmethod
    def connect(cls, url: str) -> ChatbotUiDatabase:
        """A pool of its own, apart from chatgate's database; nothing is opened yet."""
        engine = create_async_engine(
            async_url(url), pool_size=5, max_overflow=10, pool_pre_ping=True
        )
        return cls(engine)

    async def start(self) -> None:
        """Find which of the columns chatgate reads exist; raises ChatbotUiSchemaError
        when ``public.profiles`` cannot be read at all."""
        async with self._read() as conn:
            found = await conn.execute(
                sa.text(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND table_name IN ('profiles', 'models')"
                )
            )
            columns: dict[str, set[str]] = {"profiles": set(), "models": set()}
            for table, column in found:
                columns[table].add(column)
        self._profiles = _profiles_table(columns["profiles"])
        self._models = _models_table(columns["models"])

    async def close(self) -> None:
        await self.engine.dispose()

    async def profile_keys(self, *, user_id: uuid.UUID) -> dict[str, str | None] | None:
        """The user's key columns (absent ones as None), or None without a profile row."""
        profiles = self._started(self._profiles)
        query = sa.select(*[c for c in profiles.c if c.name != "user_id"]).where(
            profiles.c.user_id == user_id
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        return {name: row.get(name) for name in FIELD_NAMES}

    async def model(self, *, model_id: uuid.UUID) -> ChatbotUiModelRow | None:
        if self._models is None:
            self._started(self._profiles)
            return None  # a schema without custom models
        query = sa.select(self._models).where(self._models.c.id == model_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        return ChatbotUiModelRow(
            **{name: row[name] for name in MODEL_COLUMNS},
            context_length=row.get("context_length") or DEFAULT_CONTEXT_LENGTH,
        )

    async def models_of(self, *, user_id: uuid.UUID) -> list[ChatbotUiModelName]:
        """The models ``user_id`` owns, oldest first (by id where their dates cannot be read)."""
        models = self._models
        if models is None:
            self._started(self._profiles)
            return []
        created = [models.c.created_at] if "created_at" in models.c else []
        query = (
            sa.select(models.c.id, models.c.name, *created)
            .where(models.c.user_id == user_id)
            .order_by(*created, models.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [ChatbotUiModelName(row["id"], row["name"], row.get("created_at")) for row in rows]

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(postgresql_readonly=True)
                async with conn.begin():
                    yield conn
        except (OperationalError, InterfaceError, DBAPIError, OSError) as exc:
            log.warning("Chatbot UI's database: %s", type(exc).__name__)
            raise ChatbotUiUnavailable() from exc

    @staticmethod
    def _started(table: sa.TableClause | None) -> sa.TableClause:
        if table is None:
            raise RuntimeError("ChatbotUiDatabase.start() was not awaited")
        return table


def _profiles_table(present: set[str]) -> sa.TableClause:
    if "user_id" not in present:
        raise ChatbotUiSchemaError(
            "public.profiles with a user_id column was not found: is this the database "
            "of a Chatbot UI project, and may the role read it?"
        )
    keys = [name for name in FIELD_NAMES if name in present]
    missing = sorted(set(FIELD_NAMES) - present)
    if missing:
        log.info("Chatbot UI's profiles have no %s: read as empty", ", ".join(missing))
    return sa.table(
        "profiles",
        sa.column("user_id", sa.Uuid),
        *[sa.column(name, sa.Text) for name in keys],
        schema="public",
    )


def _models_table(present: set[str]) -> sa.TableClause | None:
    if not set(MODEL_COLUMNS) <= present:
        log.info("Chatbot UI's models table was not found: no custom models")
        return None
    return sa.table(
        "models",
        sa.column("id", sa.Uuid),
        sa.column("user_id", sa.Uuid),
        *[sa.column(name, sa.Text) for name in MODEL_COLUMNS[2:]],
        *([sa.column("context_length", sa.Integer)] if "context_length" in present else []),
        # The order of a user's list; a role granted only an older README's columns lacks it.
        *([sa.column("created_at", sa.DateTime(timezone=True))] if "created_at" in present else []),
        schema="public",
    )
