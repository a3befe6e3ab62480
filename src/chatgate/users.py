"""Users: as the CLI and the admin API manage them (create with a first token, list,
find by name, the admin role, disable and re-enable), and as a first sign-in through
an identity provider makes them.

A change of role or of the disabled flag is announced by the caller (the identity
cache's ``user_changed``, or ``announce_change`` from the CLI): a disabled user's
tokens and sessions stop working at once."""

from __future__ import annotations

import re
import secrets

from sqlalchemy.exc import IntegrityError

from chatgate.db.queries import Database, User
from chatgate.errors import BadRequest, NotFound
from chatgate.tokens import MintedToken, check_label, mint_token

MAX_USERNAME_LENGTH = 64
# Names tried for a new signed-in user before falling back to one made from the subject.
NAME_ATTEMPTS = 20


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


async def signed_in_user(*, db: Database, issuer: str, subject: str, email: str | None) -> User:
    """The user for (issuer, subject), made at its first sign-in with an empty profile
    and named from its email. Instances signing the same user in at once end up with
    one user: the unique (issuer, subject) decides, the others read it."""
    for username in _names(email, subject):
        found = await db.find_external_user(issuer=issuer, subject=subject)
        if found is not None:
            return found
        try:
            created = await db.create_external_user(
                issuer=issuer, subject=subject, username=username
            )
        except IntegrityError:  # the name is taken: try the next one
            continue
        if created is not None:
            return created
    found = await db.find_external_user(issuer=issuer, subject=subject)
    if found is None:
        raise RuntimeError(f"no free username for the user {subject!r} of {issuer}")
    return found


def _names(email: str | None, subject: str) -> list[str]:
    """``zoe@example.com``, then ``zoe@example.com-2``, ...; the subject when there is
    no usable email (names are printable, without spaces, at most 64 characters)."""
    base = re.sub(r"\s+", "", email or "")
    if not base or not base.isprintable():
        base = "user-" + re.sub(r"\W+", "", subject)[:16]
    base = base[: MAX_USERNAME_LENGTH - 4]
    names = [base, *(f"{base}-{n}" for n in range(2, NAME_ATTEMPTS))]
    return [*names, "user-" + secrets.token_hex(8)]
