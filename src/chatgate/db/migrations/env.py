"""Alembic environment: chatgate always hands it an open connection (see db.migrate)."""

from __future__ import annotations

from alembic import context

from chatgate.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
