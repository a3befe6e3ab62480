"""The migrations make the schema chatgate's tables describe, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from chatgate.db.engine import make_engine
from chatgate.db.migrate import alembic_config, migrate
from chatgate.db.tables import metadata
from tests.chatbot_ui_database import database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chatgate.db'}"
    else:
        yield from database()


def differences(connection: Connection) -> list[object]:
    found: list[object] = compare_metadata(MigrationContext.configure(connection), metadata)
    return found


def down_and_up(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0004")
    command.upgrade(config, "head")


async def test_the_migrated_schema_is_the_tables_and_each_step_goes_back(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            assert await conn.run_sync(differences) == []
            await conn.run_sync(down_and_up)
            assert await conn.run_sync(differences) == []
    finally:
        await engine.dispose()
