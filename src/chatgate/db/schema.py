"""Whether the database's schema is the one this chatgate expects, read without
Alembic: importing it costs a CLI command more than the command's own work."""

from __future__ import annotations

import enum

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

# Every migration in migrations/versions, oldest first (a test holds the two together).
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")


class SchemaState(enum.Enum):
    CURRENT = "current"
    EMPTY = "empty"  # no chatgate schema at all: a brand-new database
    BEHIND = "behind"
    UNKNOWN = "unknown"  # a revision this chatgate does not know: a newer chatgate migrated it


async def schema_state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return SchemaState.EMPTY
        found = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    if found == {REVISIONS[-1]}:
        return SchemaState.CURRENT
    if not found:
        return SchemaState.EMPTY
    if found <= set(REVISIONS):
        return SchemaState.BEHIND
    return SchemaState.UNKNOWN
