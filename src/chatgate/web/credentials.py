"""The one credential resolver: who a request comes from, for every route.

A request names its caller in one of these ways, tried in this order:
``Authorization: Bearer cg_...`` (a chatgate token); any other bearer token, a
session token of the configured identity provider (Supabase) when sign-in
through it is on; without an Authorization header, the page's session cookie
(see chatgate.sessions), then Supabase's session cookie. Each kind has its own
function below, and each ends in an ``Identity``. A cookie rides along on
requests other sites' pages make, so a cookie-signed request from another
origin is refused (403).

Identities are cached by the credential (``IdentityCache``): a session token is
verified once per cache period, not per request, and never cached past its
expiry. A change made through the API (a profile saved, a token revoked, a user
disabled) drops the user's entries at once.
"""

from __future__ import annotations

from functools import partial

from starlette.types import Scope

from chatgate.auth import TOKEN_PREFIX, authenticate, bearer_token
from chatgate.db.queries import TokenOwner
from chatgate.errors import NotAuthenticated
from chatgate.identities import Identity
from chatgate.profile_source import load_user_profile
from chatgate.runtime import Runtime
from chatgate.sessions import session_cookie, session_owner
from chatgate.supabase.request_origin import refuse_cross_site
from chatgate.supabase.sign_in import SupabaseSignIn
from chatgate.users import signed_in_user
from chatgate.web.headers import header


class Credentials:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def resolve(self, scope: Scope) -> Identity:
        """The caller's identity; NotAuthenticated (401) without a valid credential,
        CrossSiteRequest (403) for a cookie sent along by another site's page."""
        authorization = header(scope, b"authorization")
        sign_in = self.runtime.sign_in
        if authorization is None:
            page_session = self.page_session(scope)
            if page_session is not None:
                return await self.runtime.identities.resolve(page_session, self._load_page)
            if sign_in is not None:
                cookie_token = self.session_cookie(scope, sign_in)
                if cookie_token is not None:
                    return await self.for_session_token(cookie_token, sign_in)
        token = bearer_token(authorization)
        if sign_in is not None and not token.startswith(TOKEN_PREFIX):
            return await self.for_session_token(token, sign_in)
        return await self.for_token(token)

    # chatgate's own access tokens

    async def for_token(self, token: str) -> Identity:
        return await self.runtime.identities.resolve(token, self._load_token)

    async def _load_token(self, token: str) -> Identity:
        owner = await authenticate(self.runtime.db, token)
        return await self._identity(owner)

    # the page's session cookie, bound to the token it was opened with

    def page_session(self, scope: Scope) -> str | None:
        """The page's session id; CrossSiteRequest (403) when it came from another site."""
        session_id = session_cookie(header(scope, b"cookie"))
        if session_id is not None:
            self.refuse_cross_site(scope)
        return session_id

    def refuse_cross_site(self, scope: Scope) -> None:
        settings = self.runtime.settings
        client = scope.get("client")
        refuse_cross_site(
            headers=_headers(scope),
            scheme=scope.get("scheme", "http"),
            peer=client[0] if client else None,
            trusted_proxies=settings.trusted_proxies,
            allowed_origins=settings.cors_origins,
        )

    async def _load_page(self, session_id: str) -> Identity:
        return await self._identity(await session_owner(self.runtime.db, session_id))

    # Supabase: its access token as a bearer token, or its session cookie

    def session_cookie(self, scope: Scope, sign_in: SupabaseSignIn) -> str | None:
        """The session cookie's access token; None without one."""
        client = scope.get("client")
        return sign_in.cookie_token(
            headers=_headers(scope), scheme=scope["scheme"], peer=client[0] if client else None
        )

    async def for_session_token(self, token: str, sign_in: SupabaseSignIn) -> Identity:
        return await self.runtime.identities.resolve(token, partial(self._load_session, sign_in))

    async def _load_session(self, sign_in: SupabaseSignIn, token: str) -> Identity:
        """The verified token's user, made at their first sign-in."""
        session = await sign_in.verify(token)
        user = await signed_in_user(
            db=self.runtime.db, issuer=session.issuer, subject=session.subject, email=session.email
        )
        if user.disabled:
            raise NotAuthenticated("This account is disabled")
        owner = TokenOwner(
            token_id=None,
            user_id=user.id,
            username=user.username,
            last_used_at=None,
            is_admin=user.is_admin,
            issuer=session.issuer,
            subject=session.subject,
        )
        return await self._identity(owner, expires_at=session.expires_at)

    async def _identity(self, owner: TokenOwner, *, expires_at: float | None = None) -> Identity:
        # A stored key that no longer opens is marked in the profile, not raised here:
        # only a chat that needs that key fails.
        profile = await load_user_profile(self.runtime, owner)
        return Identity(owner=owner, profile=profile, expires_at=expires_at)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
