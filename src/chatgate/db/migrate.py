"""Applying the schema migrations, safely when several instances start at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatgate.db.engine import is_postgres

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant shared by every chatgate instance: the advisory lock's name.
_PG_LOCK_ID = 0x63686174676174


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _pending(connection: Connection) -> bool:
    current = MigrationContext.configure(connection).get_current_heads()
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return set(current) != set(heads)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already."""
    async with engine.connect() as conn:
        if is_postgres(engine):
            # Held until the transaction ends: a second instance waits, then finds nothing to do.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        else:
            # Take SQLite's write lock up front, so two processes cannot both begin.
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        await conn.run_sync(_upgrade)
        await conn.commit()


async def pending(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return await conn.run_sync(_pending)
