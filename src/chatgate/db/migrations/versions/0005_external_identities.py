"""users signed in through an identity provider: (issuer, subject) on the user

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("issuer", sa.String(255), nullable=True))
    op.add_column("users", sa.Column("subject", sa.String(255), nullable=True))
    # A unique index rather than a constraint: SQLite cannot add one to a table.
    # NULLs differ from each other, so users made with the CLI never collide.
    op.create_index("uq_users_issuer", "users", ["issuer", "subject"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_issuer", table_name="users")
    op.drop_column("users", "subject")
    op.drop_column("users", "issuer")
