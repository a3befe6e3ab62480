"""Dependencies of the FastAPI routes, as named aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from chatgate.auth import authenticate, bearer_token
from chatgate.db.queries import TokenOwner
from chatgate.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_current_user(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenOwner:
    owner = await authenticate(runtime.db, bearer_token(authorization))
    request.state.user_id = owner.user_id  # for the access log
    return owner


CurrentUser = Annotated[TokenOwner, Depends(get_current_user)]
