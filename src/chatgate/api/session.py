"""The page's sign-in: POST/DELETE /api/session, and GET /api/me."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from chatgate.api.deps import CurrentUser, RuntimeDep
from chatgate.errors import NotAuthenticated
from chatgate.sessions import (
    COOKIE_NAME,
    SESSION_LIFETIME,
    close_session,
    open_session,
)
from chatgate.supabase.request_origin import Network, is_trusted_proxy, last_forwarded
from chatgate.web.credentials import Credentials

router = APIRouter(tags=["session"])


class SignIn(BaseModel):
    token: str = Field(max_length=200, description="A chatgate access token (cg_...).")


class Me(BaseModel):
    username: str
    is_admin: bool


class SessionState(BaseModel):
    signed_in: bool
    username: str | None = None
    is_admin: bool = False


@router.post("/api/session", responses={401: {"description": "Invalid or revoked token"}})
async def sign_in(body: SignIn, request: Request, response: Response, runtime: RuntimeDep) -> Me:
    """Exchange a token for an HttpOnly session cookie (the token stays out of the page)."""
    _credentials(request).refuse_cross_site(request.scope)  # no signing in from another site
    opened = await open_session(db=runtime.db, token=body.token.strip())
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        COOKIE_NAME,
        opened.session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=came_over_https(request, runtime.settings.trusted_proxies),
    )
    return Me(username=opened.owner.username, is_admin=opened.owner.is_admin)


@router.delete("/api/session", status_code=204)
async def sign_out(request: Request, runtime: RuntimeDep) -> Response:
    """End this browser's session (signed out already: nothing to do)."""
    session_id = _credentials(request).page_session(request.scope)
    if session_id is not None:
        user_id = await close_session(db=runtime.db, session_id=session_id)
        if user_id is not None:
            await runtime.identities.user_changed(user_id)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/session")
async def session_state(request: Request, response: Response) -> SessionState:
    """Whether this browser is signed in (and as whom): a 200 either way, so the page's
    first request never fails."""
    response.headers["Cache-Control"] = "no-store"
    try:
        identity = await _credentials(request).resolve(request.scope)
    except NotAuthenticated:
        return SessionState(signed_in=False)
    owner = identity.owner
    return SessionState(signed_in=True, username=owner.username, is_admin=owner.is_admin)


@router.get("/api/me")
async def me(user: CurrentUser) -> Me:
    """Who is signed in."""
    return Me(username=user.username, is_admin=user.is_admin)


def _credentials(request: Request) -> Credentials:
    credentials: Credentials = request.app.state.credentials
    return credentials


def came_over_https(request: Request, trusted_proxies: Sequence[Network]) -> bool:
    """Whether the browser's request was HTTPS: directly, or as a trusted proxy says."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    if not is_trusted_proxy(peer, trusted_proxies):
        return False
    return (last_forwarded(request.headers.get("x-forwarded-proto")) or "").lower() == "https"
