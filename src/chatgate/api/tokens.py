"""The signed-in user's own access tokens: list, create, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, Field

from chatgate import tokens as token_service
from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.tokens import MAX_LABEL_LENGTH, label_problem

router = APIRouter(tags=["tokens"])


def _label(value: str) -> str:
    problem = label_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class TokenView(BaseModel):
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(BaseModel):
    label: Annotated[str, Field(max_length=MAX_LABEL_LENGTH), AfterValidator(_label)] = ""


class CreatedToken(TokenView):
    token: str = Field(description="The token itself: shown this once, store it now.")


@router.get("/api/tokens")
async def list_tokens(runtime: RuntimeDep, user: CurrentUser) -> list[TokenView]:
    tokens = await token_service.list_tokens(db=runtime.db, user_id=user.user_id)
    return [TokenView.model_validate(t, from_attributes=True) for t in tokens]


@router.post("/api/tokens", status_code=201)
async def create_token(body: NewToken, runtime: RuntimeDep, user: CurrentUser) -> CreatedToken:
    minted = await token_service.mint_token(db=runtime.db, user_id=user.user_id, label=body.label)
    view = TokenView.model_validate(minted.record, from_attributes=True)
    return CreatedToken(**view.model_dump(), token=minted.token)


@router.delete("/api/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: int, runtime: RuntimeDep, user: CurrentUser) -> None:
    await token_service.revoke_token(db=runtime.db, token_id=token_id, user_id=user.user_id)
    await runtime.identities.user_changed(user.user_id)
