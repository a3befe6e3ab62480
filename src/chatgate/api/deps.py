"""Dependencies of the FastAPI routes, as named aliases."""

from __future__ import annotations

from typing import Annotated, TypeGuard

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from chatgate.db.queries import TokenOwner
from chatgate.identities import Identity
from chatgate.runtime import Runtime
from chatgate.web.credentials import Credentials


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_identity(request: Request) -> Identity:
    """The caller, as the web edge resolved them before reading the body."""
    identity: Identity | None = request.scope.get("state", {}).get("identity")
    if identity is None:  # a request that did not come through the edge
        credentials: Credentials = request.app.state.credentials
        identity = await credentials.resolve(request.scope)
    return identity


async def current_user(identity: Annotated[Identity, Depends(current_identity)]) -> TokenOwner:
    return identity.owner


CurrentUser = Annotated[TokenOwner, Depends(current_user)]


def needs_credential(route: BaseRoute) -> TypeGuard[APIRoute]:
    """Whether a route's dependencies include the signed-in caller."""

    def uses(dependant: Dependant) -> bool:
        return any(d.call is current_identity or uses(d) for d in dependant.dependencies)

    return isinstance(route, APIRoute) and uses(route.dependant)
