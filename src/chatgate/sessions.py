"""The page's sign-in: a token exchanged for a session cookie.

The cookie carries a random session id (256 bits), never the token: the
database keeps the id's SHA-256 bound to the token it was opened with. So a
session is checked like a token (looked up by hash, through the identity
cache), it ends when its token is revoked or its user disabled (the lookup
joins both), when it expires, and when the user signs out (the row is
deleted). JavaScript never sees either secret: the cookie is HttpOnly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatgate.auth import authenticate, hash_token
from chatgate.db.queries import Database, TokenOwner, utcnow
from chatgate.errors import NotAuthenticated

COOKIE_NAME = "chatgate_session"
SESSION_PREFIX = "cs_"
SESSION_LIFETIME = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    owner: TokenOwner
    session_id: str  # the cookie's value
    expires_at: datetime


async def open_session(*, db: Database, token: str) -> OpenedSession:
    """A new session for a live token (NotAuthenticated otherwise)."""
    owner = await authenticate(db, token)
    assert owner.token_id is not None  # a token's owner always names its token
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + SESSION_LIFETIME
    await db.create_session(
        id_hash=hash_token(session_id), token_id=owner.token_id, expires_at=expires_at
    )
    return OpenedSession(owner=owner, session_id=session_id, expires_at=expires_at)


async def session_owner(db: Database, session_id: str) -> TokenOwner:
    owner = await db.find_session_owner(id_hash=hash_token(session_id))
    if owner is None:
        raise NotAuthenticated("Your session has ended. Please sign in again.")
    return owner


async def close_session(*, db: Database, session_id: str) -> int | None:
    """End a session; whose it was (None: no such session)."""
    return await db.delete_session(id_hash=hash_token(session_id))


def session_cookie(cookie_header: str | None) -> str | None:
    """The session id from a Cookie header, if it holds one of ours."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME and value.startswith(SESSION_PREFIX):
            return value
    return None
