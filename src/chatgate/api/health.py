"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from chatgate.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", responses={503: {"description": "The database is unreachable"}})
async def readyz(runtime: RuntimeDep) -> Health:
    await runtime.db.ping()  # raises ServiceUnavailable: 503
    return Health(status="ready")
