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
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenOwner:
    return await authenticate(runtime.db, bearer_token(authorization))


CurrentUser = Annotated[TokenOwner, Depends(get_current_user)]
