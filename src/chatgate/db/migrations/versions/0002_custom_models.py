"""custom models

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_models",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("api_key", sa.Text, nullable=True),
        sa.Column("model_id", sa.Text, nullable=False),
        sa.Column("context_length", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_custom_models"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_custom_models_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_custom_models_user_id", "custom_models", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_custom_models_user_id", table_name="custom_models")
    op.drop_table("custom_models")
