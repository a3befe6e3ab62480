"""Users as the CLI manages them: create (with a first token), list, find by name."""

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


async def create_user(*, db: Database, username: str, label: str) -> tuple[User, MintedToken]:
    """A new user and its first access token."""
    check_label(label)  # before the user exists, so that a bad label leaves nothing behind
    created = await db.create_user(username=check_username(username))
    return created, await mint_token(db=db, user_id=created.id, label=label)


async def list_users(*, db: Database) -> list[User]:
    return await db.list_users()


async def find_user(*, db: Database, username: str) -> User:
    found = await db.get_user(username=username)
    if found is None:
        raise NotFound(f"no user named {username!r}")
    return found
