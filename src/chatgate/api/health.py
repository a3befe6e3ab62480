"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from chatgate.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", responses={503: {"description": "The database is unreachable"}})
async def readyz(runtime: RuntimeDep) -> Health:
    await runtime.db.ping()  # raises ServiceUnavailable: 503
    return Health(status="ready")
