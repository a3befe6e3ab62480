"""The admin's API under /api/admin/: users (create with a first token, the admin
role, disable and re-enable). Every route refuses a non-admin with 403."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, Field

from chatgate import users as user_service
from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.db.queries import TokenOwner, User
from chatgate.errors import BadRequest, Forbidden
from chatgate.tokens import MAX_LABEL_LENGTH, label_problem
from chatgate.users import MAX_USERNAME_LENGTH


async def admin_user(user: CurrentUser) -> TokenOwner:
    if not user.is_admin:
        raise Forbidden("Only an administrator may do this")
    return user


AdminUser = Annotated[TokenOwner, Depends(admin_user)]

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(admin_user)])


def _label(value: str) -> str:
    problem = label_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class UserView(BaseModel):
    id: int
    username: str
    created_at: datetime
    is_admin: bool
    disabled: bool


class NewUser(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=MAX_USERNAME_LENGTH)]
    is_admin: bool = False
    label: Annotated[str, Field(max_length=MAX_LABEL_LENGTH), AfterValidator(_label)] = (
        "created with the user"
    )


class CreatedUser(UserView):
    token: str = Field(description="The user's first access token: shown this once.")


class UserChange(BaseModel):
    is_admin: bool | None = None
    disabled: bool | None = None


def _view(user: User) -> UserView:
    return UserView.model_validate(user, from_attributes=True)


@router.get("/users")
async def list_users(runtime: RuntimeDep) -> list[UserView]:
    return [_view(u) for u in await user_service.list_users(db=runtime.db)]


@router.post("/users", status_code=201)
async def create_user(body: NewUser, runtime: RuntimeDep) -> CreatedUser:
    created, minted = await user_service.create_user(
        db=runtime.db, username=body.username, label=body.label, is_admin=body.is_admin
    )
    return CreatedUser(**_view(created).model_dump(), token=minted.token)


@router.patch("/users/{username}")
async def change_user(
    username: str, body: UserChange, runtime: RuntimeDep, admin: AdminUser
) -> UserView:
    """Disable or re-enable a user, give or take the admin role; a disabled user's
    tokens and sessions stop working at once."""
    if username == admin.username and (body.disabled or body.is_admin is False):
        raise BadRequest("An administrator cannot disable themselves or drop their own role")
    changed = await user_service.change_user(
        db=runtime.db, username=username, is_admin=body.is_admin, disabled=body.disabled
    )
    await runtime.identities.user_changed(changed.id)
    return _view(changed)
