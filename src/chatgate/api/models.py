"""The signed-in user's custom models: GET/POST/PATCH/DELETE /api/models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.crypto import shown_secret
from chatgate.custom_models import (
    CustomModel,
    CustomModelChanges,
    CustomModelFields,
    create_custom_model,
    delete_custom_model,
    list_custom_models,
    load_custom_model,
    update_custom_model,
)
from chatgate.profile_source import refuse_custom_model_change

router = APIRouter(prefix="/api/models", tags=["models"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such custom model for this user"}
}


class CustomModelView(BaseModel):
    id: str
    name: str
    description: str
    base_url: str
    # Masked to its last 4 characters; "unreadable: enter it again" when it no longer opens.
    api_key: str | None
    model_id: str
    context_length: int
    created_at: datetime
    updated_at: datetime


def view(model: CustomModel) -> CustomModelView:
    return CustomModelView(
        id=model.id,
        name=model.name,
        description=model.description,
        base_url=model.base_url,
        api_key=shown_secret(model.key),
        model_id=model.model_id,
        context_length=model.context_length,
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


@router.get("")
async def list_models(runtime: RuntimeDep, user: CurrentUser) -> list[CustomModelView]:
    models = await list_custom_models(db=runtime.db, keyring=runtime.keyring, user_id=user.user_id)
    return [view(m) for m in models]


@router.post("", status_code=201)
async def create_model(
    fields: CustomModelFields, runtime: RuntimeDep, user: CurrentUser
) -> CustomModelView:
    refuse_custom_model_change(runtime, user)
    model = await create_custom_model(
        db=runtime.db, keyring=runtime.keyring, user_id=user.user_id, fields=fields
    )
    return view(model)


@router.get("/{custom_model_id}", responses=_NOT_FOUND)
async def get_model(
    custom_model_id: str, runtime: RuntimeDep, user: CurrentUser
) -> CustomModelView:
    model = await load_custom_model(
        db=runtime.db,
        keyring=runtime.keyring,
        user_id=user.user_id,
        custom_model_id=custom_model_id,
    )
    return view(model)


@router.patch("/{custom_model_id}", responses=_NOT_FOUND)
async def patch_model(
    custom_model_id: str, changes: CustomModelChanges, runtime: RuntimeDep, user: CurrentUser
) -> CustomModelView:
    refuse_custom_model_change(runtime, user)
    model = await update_custom_model(
        db=runtime.db,
        keyring=runtime.keyring,
        user_id=user.user_id,
        custom_model_id=custom_model_id,
        changes=changes,
    )
    return view(model)


@router.delete("/{custom_model_id}", status_code=204, responses=_NOT_FOUND)
async def delete_model(custom_model_id: str, runtime: RuntimeDep, user: CurrentUser) -> Response:
    await delete_custom_model(db=runtime.db, user_id=user.user_id, custom_model_id=custom_model_id)
    return Response(status_code=204)
