"""GET /v1/models and GET /v1/models/{id}: the models the caller can use, as
OpenAI lists them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from chatgate.api.deps import RuntimeDep, current_identity
from chatgate.identities import Identity
from chatgate.v1.errors import ModelNotFound
from chatgate.v1.names import catalogue_models, custom_models, resolve_model

router = APIRouter(prefix="/v1", tags=["OpenAI API"])

CurrentIdentity = Annotated[Identity, Depends(current_identity)]
# The catalogue's models have no date of their own; the SDKs require one.
CATALOGUE_CREATED = 1_700_000_000


def model_object(model_id: str, created: int = CATALOGUE_CREATED) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": model_id.partition("/")[0],
    }


async def listed_models(runtime: RuntimeDep, identity: Identity) -> list[dict[str, Any]]:
    deployments = iter(runtime.provider_options.azure_deployments)
    listed = [
        model_object(name) for name in catalogue_models(identity, azure_deployments=deployments)
    ]
    for custom in await custom_models(runtime, identity):
        created = custom.created_at
        made = int(created.timestamp()) if created is not None else CATALOGUE_CREATED
        listed.append(model_object(f"custom/{custom.name}", made))
    return listed


@router.get("/models")
async def list_models(runtime: RuntimeDep, identity: CurrentIdentity) -> dict[str, Any]:
    return {"object": "list", "data": await listed_models(runtime, identity)}


@router.get("/models/{model_id:path}")
async def get_model(
    model_id: str, runtime: RuntimeDep, identity: CurrentIdentity
) -> dict[str, Any]:
    """One model, by its id (its slash raw or percent-encoded) or a bare name."""
    listed = {model["id"]: model for model in await listed_models(runtime, identity)}
    if model_id in listed:
        return listed[model_id]
    if "/" not in model_id:
        choice = await resolve_model(runtime, identity=identity, name=model_id)
        found = listed.get(f"{choice.provider.name}/{choice.model}")
        if found is not None:
            return found
    raise ModelNotFound(model_id)
