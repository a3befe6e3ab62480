"""Access tokens as the HTTP API and the CLI manage them: mint, list, revoke.

A token is shown once, when minted; only its hash is stored (chatgate.auth).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatgate.auth import hash_token, make_token
from chatgate.db.queries import Database, Revocation, Token
from chatgate.errors import BadRequest, NotFound

MAX_LABEL_LENGTH = 100


@dataclass(frozen=True, slots=True)
class MintedToken:
    record: Token
    token: str  # the token itself: shown this once


def label_problem(label: str) -> str | None:
    """Why a label cannot be stored, if it cannot: labels are listed one a line, so a
    line break or a control character in one would forge rows."""
    if len(label) > MAX_LABEL_LENGTH:
        return f"must be at most {MAX_LABEL_LENGTH} characters"
    if not label.isprintable():
        return "must be printable text on one line"
    return None


def check_label(label: str) -> str:
    problem = label_problem(label)
    if problem is not None:
        raise BadRequest(f"label: {problem}")
    return label


async def mint_token(*, db: Database, user_id: int, label: str) -> MintedToken:
    check_label(label)
    token = make_token()
    record = await db.create_token(user_id=user_id, token_hash=hash_token(token), label=label)
    return MintedToken(record=record, token=token)


async def list_tokens(*, db: Database, user_id: int) -> list[Token]:
    return await db.list_tokens(user_id=user_id)


async def revoke_token(*, db: Database, token_id: int, user_id: int | None) -> Revocation:
    """Revoke a token; with ``user_id``, only one of that user's own (another user's
    is "not found" too: ids reveal nothing)."""
    revocation = await db.revoke_token(token_id=token_id, user_id=user_id)
    if revocation is None:
        raise NotFound("No such token" if user_id is not None else f"no token with id {token_id}")
    return revocation
