"""Users as the CLI and the admin API manage them: create (with a first token), list,
find by name, the admin role, disable and re-enable.

A change of role or of the disabled flag is announced by the caller (the identity
cache's ``user_changed``, or ``announce_change`` from the CLI): a disabled user's
tokens and sessions stop working at once."""

from __future__ import annotations

from chatgate.db.queries import Database, User
from chatgate.errors import BadRequest, NotFound
from chatgate.tokens import MintedToken, check_label, mint_token

MAX_USERNAME_LENGTH = 64


def check_username(username: str) -> str:
    if (
        not username
        or len(username) > MAX_USERNAME_LENGTH
        or not username.isprintable()
        or " " in username
    ):
        raise BadRequest(
            f"a username is 1 to {MAX_USERNAME_LENGTH} printable characters without spaces"
        )
    return username


async def create_user(
    *, db: Database, username: str, label: str, is_admin: bool = False
) -> tuple[User, MintedToken]:
    """A new user and its first access token."""
    check_label(label)  # before the user exists, so that a bad label leaves nothing behind
    created = await db.create_user(username=check_username(username), is_admin=is_admin)
    return created, await mint_token(db=db, user_id=created.id, label=label)


async def list_users(*, db: Database) -> list[User]:
    return await db.list_users()


async def find_user(*, db: Database, username: str) -> User:
    found = await db.get_user(username=username)
    if found is None:
        raise NotFound(f"no user named {username!r}")
    return found


async def change_user(
    *, db: Database, username: str, is_admin: bool | None = None, disabled: bool | None = None
) -> User:
    """Give or take the admin role, disable or re-enable; the user as it is now."""
    found = await find_user(db=db, username=username)
    await db.set_user_flags(user_id=found.id, is_admin=is_admin, disabled=disabled)
    return await find_user(db=db, username=username)
