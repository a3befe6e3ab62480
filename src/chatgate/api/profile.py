"""The signed-in user's own profile, and which fields the server supplies."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, create_model

from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.crypto import UNREADABLE_SHOWN
from chatgate.errors import BadRequest
from chatgate.profile_fields import MAX_FIELD_LENGTH, PROFILE_FIELDS
from chatgate.profile_source import load_user_profile, refuse_profile_change
from chatgate.profiles import SET_BY_SERVER, update_profile

router = APIRouter(tags=["profile"])

_field_help = (
    f"Secrets are shown masked to their last 4 characters; {SET_BY_SERVER!r} when the "
    f"server supplies the field; {UNREADABLE_SHOWN!r} when the stored value no longer opens."
)
ProfileView = create_model(  # type: ignore[call-overload]
    "ProfileView",
    __config__=ConfigDict(extra="forbid"),
    username=(str, ...),
    **{f.name: (str | None, Field(default=None, description=_field_help)) for f in PROFILE_FIELDS},
)
ProfileUpdate = create_model(  # type: ignore[call-overload]
    "ProfileUpdate",
    __config__=ConfigDict(extra="forbid"),
    **{
        f.name: (
            str | None,
            Field(
                default=None,
                max_length=MAX_FIELD_LENGTH,
                description="A new value; null or an empty string clears it; omitted: unchanged.",
            ),
        )
        for f in PROFILE_FIELDS
    },
)


class KeysView(BaseModel):
    isUsingEnvKeyMap: dict[str, bool]


async def _profile_view(runtime: RuntimeDep, user: CurrentUser) -> BaseModel:
    profile = await load_user_profile(runtime, user)
    view: BaseModel = ProfileView(username=user.username, **profile.shown())
    return view


@router.get("/api/profile", response_model=ProfileView)
async def get_profile(runtime: RuntimeDep, user: CurrentUser) -> BaseModel:
    return await _profile_view(runtime, user)


@router.patch("/api/profile", response_model=ProfileView)
async def patch_profile(
    changes: ProfileUpdate,
    runtime: RuntimeDep,
    user: CurrentUser,
) -> BaseModel:
    refuse_profile_change(runtime, user)
    requested = changes.model_dump(exclude_unset=True)
    if not requested:
        raise BadRequest("Nothing to change: send at least one profile field")
    await update_profile(
        db=runtime.db, keyring=runtime.keyring, user_id=user.user_id, changes=requested
    )
    await runtime.identities.user_changed(user.user_id)
    return await _profile_view(runtime, user)


@router.get("/api/keys", response_model=KeysView)
async def get_keys(runtime: RuntimeDep) -> KeysView:
    env = runtime.settings.provider_env
    return KeysView(isUsingEnvKeyMap={f.env_map_key: f.env_var in env for f in PROFILE_FIELDS})
