"""The signed-in user's own access tokens: list, create, revoke."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.auth import hash_token, make_token
from chatgate.errors import NotFound

router = APIRouter(tags=["tokens"])


class TokenView(BaseModel):
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(BaseModel):
    label: str = Field(default="", max_length=100)


class CreatedToken(TokenView):
    token: str = Field(description="The token itself: shown this once, store it now.")


@router.get("/api/tokens")
async def list_tokens(runtime: RuntimeDep, user: CurrentUser) -> list[TokenView]:
    tokens = await runtime.db.list_tokens(user_id=user.user_id)
    return [TokenView.model_validate(t, from_attributes=True) for t in tokens]


@router.post("/api/tokens", status_code=201)
async def create_token(body: NewToken, runtime: RuntimeDep, user: CurrentUser) -> CreatedToken:
    token = make_token()
    record = await runtime.db.create_token(
        user_id=user.user_id, token_hash=hash_token(token), label=body.label
    )
    view = TokenView.model_validate(record, from_attributes=True)
    return CreatedToken(**view.model_dump(), token=token)


@router.delete("/api/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: int, runtime: RuntimeDep, user: CurrentUser) -> None:
    # Another user's token is "not found" too: ids reveal nothing.
    owned = {t.id for t in await runtime.db.list_tokens(user_id=user.user_id)}
    if token_id not in owned:
        raise NotFound("No such token")
    await runtime.db.revoke_token(token_id=token_id)
    await runtime.identities.user_changed(user.user_id)
