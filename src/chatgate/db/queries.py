"""Every query chatgate runs. Each method opens a short connection and closes it:
nothing here is held across an upstream call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chatgate.db.tables import access_tokens, custom_models, meta, profiles, sessions, users
from chatgate.errors import Conflict, ServiceUnavailable
from chatgate.profile_fields import FIELD_NAMES

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every one chatgate stores is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    created_at: datetime
    is_admin: bool = False
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    user_id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Revocation:
    """Whose token was revoked, and whether it was live until now."""

    user_id: int
    revoked_now: bool


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Who a presented credential belongs to."""

    token_id: int | None  # None: signed in by a session, not a chatgate token
    user_id: int
    username: str
    last_used_at: datetime | None
    is_admin: bool = False
    # The user's (issuer, subject) at an identity provider; None for users made with the CLI.
    issuer: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class StoredCustomModel:
    """A custom model's row, its key still sealed."""

    id: str
    user_id: int
    name: str
    description: str
    base_url: str
    api_key: str | None
    model_id: str
    context_length: int
    created_at: datetime
    updated_at: datetime


def _user(row: Row[Any]) -> User:
    return User(row.id, row.username, _utc(row.created_at), bool(row.is_admin), bool(row.disabled))


def _custom_model(row: Row[Any]) -> StoredCustomModel:
    return StoredCustomModel(
        **{
            **row._asdict(),
            "created_at": _utc(row.created_at),
            "updated_at": _utc(row.updated_at),
        }
    )


_OWNER = select(
    access_tokens.c.id,
    access_tokens.c.user_id,
    users.c.username,
    access_tokens.c.last_used_at,
    users.c.is_admin,
    users.c.issuer,
    users.c.subject,
).join(users, users.c.id == access_tokens.c.user_id)


def _owner(row: Row[Any, Any, Any, Any, Any, Any, Any]) -> TokenOwner:
    return TokenOwner(
        row[0], row[1], row[2], _aware(row[3]), bool(row[4]), issuer=row[5], subject=row[6]
    )


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except (OperationalError, InterfaceError, DBAPIError, OSError) as exc:
            raise ServiceUnavailable() from exc

    async def ping(self) -> None:
        async with self._begin() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    # facts about the database itself

    async def get_meta(self, *, name: str) -> str | None:
        async with self._begin() as conn:
            value: str | None = await conn.scalar(select(meta.c.value).where(meta.c.name == name))
        return value

    async def set_meta(self, *, name: str, value: str) -> None:
        try:
            async with self._begin() as conn:
                result = await conn.execute(
                    update(meta).where(meta.c.name == name).values(value=value)
                )
                if not result.rowcount:
                    await conn.execute(insert(meta).values(name=name, value=value))
        except IntegrityError:  # another process inserted it first: ours wins, as if later
            async with self._begin() as conn:
                await conn.execute(update(meta).where(meta.c.name == name).values(value=value))

    # users

    async def create_user(self, *, username: str, is_admin: bool = False) -> User:
        now = utcnow()
        try:
            async with self._begin() as conn:
                result = await conn.execute(
                    insert(users)
                    .values(username=username, created_at=now, is_admin=is_admin)
                    .returning(users.c.id)
                )
                user_id = result.scalar_one()
                await conn.execute(insert(profiles).values(user_id=user_id, updated_at=now))
        except IntegrityError as exc:
            raise Conflict(f"A user named {username!r} already exists") from exc
        return User(id=user_id, username=username, created_at=now, is_admin=is_admin)

    async def find_external_user(self, *, issuer: str, subject: str) -> User | None:
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    select(users).where(users.c.issuer == issuer, users.c.subject == subject)
                )
            ).first()
        return None if row is None else _user(row)

    async def create_external_user(
        self, *, issuer: str, subject: str, username: str
    ) -> User | None:
        """A user for (issuer, subject) with an empty profile; None when that user exists
        already (made meanwhile by another instance). Raises IntegrityError when the
        username is taken."""
        now = utcnow()
        if self.engine.dialect.name == "postgresql":
            # Imported here: a PostgreSQL engine has loaded its dialect already, and a
            # server on SQLite never needs it (about 2 MB).
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            insert_user: PostgresqlInsert | SqliteInsert = postgresql_insert(users)
        else:
            insert_user = sqlite_insert(users)
        async with self._begin() as conn:
            user_id = await conn.scalar(
                insert_user.values(
                    username=username, created_at=now, issuer=issuer, subject=subject
                )
                .on_conflict_do_nothing(index_elements=["issuer", "subject"])
                .returning(users.c.id)
            )
            if user_id is None:
                return None
            await conn.execute(insert(profiles).values(user_id=user_id, updated_at=now))
        return User(id=user_id, username=username, created_at=now)

    async def get_user(self, *, username: str) -> User | None:
        async with self._begin() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        async with self._begin() as conn:
            rows = (await conn.execute(select(users).order_by(users.c.id))).all()
        return [_user(r) for r in rows]

    async def set_user_flags(
        self, *, user_id: int, is_admin: bool | None = None, disabled: bool | None = None
    ) -> None:
        values = {
            name: value
            for name, value in (("is_admin", is_admin), ("disabled", disabled))
            if value is not None
        }
        if values:
            async with self._begin() as conn:
                await conn.execute(update(users).where(users.c.id == user_id).values(**values))

    # tokens

    async def create_token(self, *, user_id: int, token_hash: str, label: str) -> Token:
        now = utcnow()
        async with self._begin() as conn:
            result = await conn.execute(
                insert(access_tokens)
                .values(user_id=user_id, token_hash=token_hash, label=label, created_at=now)
                .returning(access_tokens.c.id)
            )
            token_id = result.scalar_one()
        return Token(token_id, user_id, label, now, None, None)

    async def list_tokens(self, *, user_id: int) -> list[Token]:
        async with self._begin() as conn:
            rows = (
                await conn.execute(
                    select(access_tokens)
                    .where(access_tokens.c.user_id == user_id)
                    .order_by(access_tokens.c.id)
                )
            ).all()
        return [
            Token(
                r.id,
                r.user_id,
                r.label,
                _utc(r.created_at),
                _aware(r.last_used_at),
                _aware(r.revoked_at),
            )
            for r in rows
        ]

    async def revoke_token(self, *, token_id: int, user_id: int | None) -> Revocation | None:
        """Revoke a token, only among the user's own when ``user_id`` is given (another
        user's token is then as absent as a missing one); None: no such token."""
        found = [access_tokens.c.id == token_id]
        if user_id is not None:
            found.append(access_tokens.c.user_id == user_id)
        async with self._begin() as conn:
            owner: int | None = await conn.scalar(select(access_tokens.c.user_id).where(*found))
            if owner is None:
                return None
            result = await conn.execute(
                update(access_tokens)
                .where(*found, access_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return Revocation(user_id=owner, revoked_now=bool(result.rowcount))

    async def find_token_owner(self, *, token_hash: str) -> TokenOwner | None:
        """Whose live token this is; a revoked token or a disabled user's: None."""
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    _OWNER.where(
                        access_tokens.c.token_hash == token_hash,
                        access_tokens.c.revoked_at.is_(None),
                        users.c.disabled.is_(False),
                    )
                )
            ).first()
        return None if row is None else _owner(row)

    # sessions: a session lives as long as its token does, and no longer than its expiry

    async def create_session(self, *, id_hash: str, token_id: int, expires_at: datetime) -> None:
        async with self._begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    id_hash=id_hash, token_id=token_id, created_at=utcnow(), expires_at=expires_at
                )
            )

    async def find_session_owner(self, *, id_hash: str) -> TokenOwner | None:
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    _OWNER.join(sessions, sessions.c.token_id == access_tokens.c.id).where(
                        sessions.c.id_hash == id_hash,
                        sessions.c.expires_at > utcnow(),
                        access_tokens.c.revoked_at.is_(None),
                        users.c.disabled.is_(False),
                    )
                )
            ).first()
        return None if row is None else _owner(row)

    async def delete_session(self, *, id_hash: str) -> int | None:
        """End a session; the user it belonged to (None: there was none)."""
        async with self._begin() as conn:
            user_id: int | None = await conn.scalar(
                select(access_tokens.c.user_id)
                .join(sessions, sessions.c.token_id == access_tokens.c.id)
                .where(sessions.c.id_hash == id_hash)
            )
            await conn.execute(delete(sessions).where(sessions.c.id_hash == id_hash))
            # Expired sessions go with any sign-out: the table never grows without bound.
            await conn.execute(delete(sessions).where(sessions.c.expires_at <= utcnow()))
        return user_id

    async def touch_token(self, *, token_id: int, when: datetime) -> None:
        async with self._begin() as conn:
            await conn.execute(
                update(access_tokens)
                .where(access_tokens.c.id == token_id)
                .values(last_used_at=when)
            )

    # profiles

    async def get_sealed_profile(self, *, user_id: int) -> dict[str, str | None]:
        """The profile's sealed field values (missing profile: all None)."""
        columns = [profiles.c[name] for name in FIELD_NAMES]
        async with self._begin() as conn:
            row = (
                await conn.execute(select(*columns).where(profiles.c.user_id == user_id))
            ).first()
        if row is None:
            return dict.fromkeys(FIELD_NAMES)
        return dict(zip(FIELD_NAMES, row, strict=True))

    async def any_sealed_value(self) -> str | None:
        """One stored sealed value, whichever comes first (None: nothing is stored)."""
        any_field = func.coalesce(*(profiles.c[name] for name in FIELD_NAMES))
        async with self._begin() as conn:
            found: str | None = await conn.scalar(
                select(any_field).where(any_field.is_not(None)).limit(1)
            )
            if found is None:
                found = await conn.scalar(
                    select(custom_models.c.api_key)
                    .where(custom_models.c.api_key.is_not(None))
                    .limit(1)
                )
        return found

    async def all_sealed_profiles(self) -> list[tuple[int, dict[str, str | None]]]:
        columns = [profiles.c[name] for name in FIELD_NAMES]
        async with self._begin() as conn:
            rows = (await conn.execute(select(profiles.c.user_id, *columns))).all()
        return [(row[0], dict(zip(FIELD_NAMES, row[1:], strict=True))) for row in rows]

    async def update_profile(self, *, user_id: int, sealed: Mapping[str, str | None]) -> None:
        """Set (sealed value) or clear (None) the given fields."""
        values = {**sealed, "updated_at": utcnow()}
        async with self._begin() as conn:
            result = await conn.execute(
                update(profiles).where(profiles.c.user_id == user_id).values(**values)
            )
            if not result.rowcount:
                await conn.execute(insert(profiles).values(user_id=user_id, **values))

    # custom models: every query is scoped to the owner, so another user's
    # model is as absent as one that does not exist

    async def create_custom_model(self, *, model: StoredCustomModel) -> None:
        async with self._begin() as conn:
            await conn.execute(insert(custom_models).values(**asdict(model)))

    async def list_custom_models(self, *, user_id: int) -> list[StoredCustomModel]:
        async with self._begin() as conn:
            rows = (
                await conn.execute(
                    select(custom_models)
                    .where(custom_models.c.user_id == user_id)
                    .order_by(custom_models.c.created_at, custom_models.c.id)
                )
            ).all()
        return [_custom_model(row) for row in rows]

    async def get_custom_model(
        self, *, user_id: int, custom_model_id: str
    ) -> StoredCustomModel | None:
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    select(custom_models).where(
                        custom_models.c.id == custom_model_id, custom_models.c.user_id == user_id
                    )
                )
            ).first()
        return None if row is None else _custom_model(row)

    async def sealed_custom_model_keys(self) -> list[tuple[int, str, str]]:
        """(owner, model id, sealed key) of every custom model that has a key."""
        async with self._begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        custom_models.c.user_id, custom_models.c.id, custom_models.c.api_key
                    ).where(custom_models.c.api_key.is_not(None))
                )
            ).all()
        return [(row[0], row[1], row[2]) for row in rows]

    async def update_custom_model(
        self, *, user_id: int, custom_model_id: str, values: Mapping[str, object]
    ) -> bool:
        """Set the given columns; False when the user has no such model."""
        async with self._begin() as conn:
            result = await conn.execute(
                update(custom_models)
                .where(custom_models.c.id == custom_model_id, custom_models.c.user_id == user_id)
                .values(**values, updated_at=utcnow())
            )
        return bool(result.rowcount)

    async def delete_custom_model(self, *, user_id: int, custom_model_id: str) -> bool:
        async with self._begin() as conn:
            result = await conn.execute(
                delete(custom_models).where(
                    custom_models.c.id == custom_model_id, custom_models.c.user_id == user_id
                )
            )
        return bool(result.rowcount)
