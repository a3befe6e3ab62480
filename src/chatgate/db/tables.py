"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from chatgate.profile_fields import FIELD_NAMES

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Who the user is at an identity provider (a Supabase project): set for users
    # made by their first sign-in there, NULL for users made with the CLI.
    Column("issuer", String(255), nullable=True),
    Column("subject", String(255), nullable=True),
    Index("uq_users_issuer", "issuer", "subject", unique=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(100), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# The page's sign-ins (chatgate.sessions): the hash of the cookie's random id, bound to
# the token it was opened with, so revoking that token ends them.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column(
        "token_id",
        Integer,
        ForeignKey("access_tokens.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Every field column holds a sealed value (see chatgate.crypto), never plain text.
profiles = Table(
    "profiles",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    *(Column(name, Text, nullable=True) for name in FIELD_NAMES),
)

# A user's own OpenAI-compatible models (Chatbot UI's "models"); api_key is
# sealed (see chatgate.crypto) and may be absent for local servers.
custom_models = Table(
    "custom_models",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("base_url", Text, nullable=False),
    Column("api_key", Text, nullable=True),
    Column("model_id", Text, nullable=False),
    Column("context_length", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Facts about the database itself, by name: "secret_check" tells whether the configured
# secret is the one the stored keys are sealed with (see chatgate.crypto), never the secret.
meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
