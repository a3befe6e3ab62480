"""The admin's API under /api/admin/: users (create with a first token, the admin
role, disable and re-enable, token quotas) and usage by user and model over a
period. Every route refuses a non-admin with 403."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, Field

from chatgate import users as user_service
from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.db.admin_queries import all_quotas, usage_by_user_and_model
from chatgate.db.queries import TokenOwner, User
from chatgate.db.usage_queries import QuotaOverride
from chatgate.errors import BadRequest, Forbidden
from chatgate.runtime import Runtime
from chatgate.tokens import MAX_LABEL_LENGTH, label_problem
from chatgate.usage.report import report_range
from chatgate.users import MAX_USERNAME_LENGTH

NO_OVERRIDE = QuotaOverride(None, None)
# A quota a person may type: 0 is no limit, null the server's default.
Quota = Annotated[int | None, Field(ge=0, le=10**15)]


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
    tokens_per_day: int | None = Field(description="The user's own; null: the server's default")
    tokens_per_month: int | None = Field(description="The user's own; null: the server's default")


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
    tokens_per_day: Quota = None
    tokens_per_month: Quota = None


class Defaults(BaseModel):
    tokens_per_day: int | None
    tokens_per_month: int | None


class UserModelLine(BaseModel):
    user: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AdminUsage(BaseModel):
    since: str
    until: str
    rows: list[UserModelLine]


def _view(user: User, quota: QuotaOverride | None) -> UserView:
    own = quota or NO_OVERRIDE
    return UserView(
        id=user.id,
        username=user.username,
        created_at=user.created_at,
        is_admin=user.is_admin,
        disabled=user.disabled,
        tokens_per_day=own.tokens_per_day,
        tokens_per_month=own.tokens_per_month,
    )


async def _fresh_view(runtime: Runtime, user: User) -> UserView:
    return _view(user, await runtime.usage.store.get_quota(user_id=user.id))


@router.get("/users")
async def list_users(runtime: RuntimeDep) -> list[UserView]:
    quotas = await all_quotas(runtime.db)
    return [_view(u, quotas.get(u.id)) for u in await user_service.list_users(db=runtime.db)]


@router.get("/defaults")
async def defaults(runtime: RuntimeDep) -> Defaults:
    """The server's quotas for users without their own."""
    settings = runtime.settings
    return Defaults(
        tokens_per_day=settings.default_tokens_per_day,
        tokens_per_month=settings.default_tokens_per_month,
    )


@router.get("/usage")
async def usage(
    runtime: RuntimeDep, since: str | None = None, until: str | None = None
) -> AdminUsage:
    """Every user's requests and tokens by model, from ``since`` to ``until`` (UTC
    days, both included; default: the last 30 days)."""
    span = report_range(since, until)
    lines = await usage_by_user_and_model(runtime.db, since=span.since, until=span.until)
    return AdminUsage(
        since=span.since.isoformat(),
        until=span.until.isoformat(),
        rows=[UserModelLine.model_validate(line, from_attributes=True) for line in lines],
    )


@router.post("/users", status_code=201)
async def create_user(body: NewUser, runtime: RuntimeDep) -> CreatedUser:
    created, minted = await user_service.create_user(
        db=runtime.db, username=body.username, label=body.label, is_admin=body.is_admin
    )
    return CreatedUser(**_view(created, None).model_dump(), token=minted.token)


@router.patch("/users/{username}")
async def change_user(
    username: str, body: UserChange, runtime: RuntimeDep, admin: AdminUser
) -> UserView:
    """Disable or re-enable a user, give or take the admin role, set their token
    quotas (null: back to the server's default; 0: no limit). A disabled user's
    tokens and sessions stop working at once."""
    if username == admin.username and (body.disabled or body.is_admin is False):
        raise BadRequest("An administrator cannot disable themselves or drop their own role")
    changed = await user_service.change_user(
        db=runtime.db, username=username, is_admin=body.is_admin, disabled=body.disabled
    )
    quota: dict[str, int | None] = {
        name: getattr(body, name)
        for name in ("tokens_per_day", "tokens_per_month")
        if name in body.model_fields_set
    }
    if quota:
        await runtime.usage.store.set_quota(user_id=changed.id, changes=quota)
        runtime.usage.quotas.forget(changed.id)
    await runtime.identities.user_changed(changed.id)
    return await _fresh_view(runtime, changed)
