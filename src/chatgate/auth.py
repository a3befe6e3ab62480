"""Access tokens: make them, hash them, and find who presented one."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from chatgate.db.queries import Database, TokenOwner, utcnow
from chatgate.errors import NotAuthenticated

TOKEN_PREFIX = "cg_"  # noqa: S105 - a prefix, not a secret
# last_used_at is a hint for operators, not an audit log: one write a minute per token at most.
TOUCH_INTERVAL = timedelta(seconds=60)


def make_token() -> str:
    """A new token: 256 random bits, URL-safe, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough; looking up by
    # hash also means no comparison of the secret itself can leak timing.
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    """The token from an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise NotAuthenticated("Missing access token: send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Malformed Authorization header: expected Bearer <token>")
    return token


async def authenticate(db: Database, token: str) -> TokenOwner:
    owner = await db.find_token_owner(token_hash=hash_token(token))
    if owner is None:
        raise NotAuthenticated("Invalid or revoked access token")
    now = utcnow()
    stale = owner.last_used_at is None or now - owner.last_used_at > TOUCH_INTERVAL
    if stale and owner.token_id is not None:
        await db.touch_token(token_id=owner.token_id, when=now)
    return owner
