"""The one credential resolver: who a request comes from, for every route.

A request names its caller in one of these ways, tried in this order:
``Authorization: Bearer cg_...`` (a chatgate token); any other bearer token, a
session token of the configured identity provider (Supabase) when sign-in
through it is on; without an Authorization header, Supabase's session cookie.
Each kind has its own function below, and each ends in an ``Identity``.

Identities are cached by the credential (``IdentityCache``): a session token is
verified once per cache period, not per request, and never cached past its
expiry. A change made through the API (a profile saved, a token revoked) drops
the user's entries at once.
"""

from __future__ import annotations

from functools import partial

from starlette.types import Scope

from chatgate.auth import TOKEN_PREFIX, authenticate, bearer_token
from chatgate.db.queries import TokenOwner
from chatgate.identities import Identity
from chatgate.profile_source import load_user_profile
from chatgate.runtime import Runtime
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
        if authorization is None and sign_in is not None:
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

    # Supabase: its access token as a bearer token, or its session cookie

    def session_cookie(self, scope: Scope, sign_in: SupabaseSignIn) -> str | None:
        """The session cookie's access token; None without one."""
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        client = scope.get("client")
        return sign_in.cookie_token(
            headers=headers, scheme=scope["scheme"], peer=client[0] if client else None
        )

    async def for_session_token(self, token: str, sign_in: SupabaseSignIn) -> Identity:
        return await self.runtime.identities.resolve(token, partial(self._load_session, sign_in))

    async def _load_session(self, sign_in: SupabaseSignIn, token: str) -> Identity:
        """The verified token's user, made at their first sign-in."""
        session = await sign_in.verify(token)
        user = await signed_in_user(
            db=self.runtime.db, issuer=session.issuer, subject=session.subject, email=session.email
        )
        owner = TokenOwner(
            token_id=None,
            user_id=user.id,
            username=user.username,
            last_used_at=None,
            issuer=session.issuer,
            subject=session.subject,
        )
        return await self._identity(owner, expires_at=session.expires_at)

    async def _identity(self, owner: TokenOwner, *, expires_at: float | None = None) -> Identity:
        # A stored key that no longer opens is marked in the profile, not raised here:
        # only a chat that needs that key fails.
        profile = await load_user_profile(self.runtime, owner)
        return Identity(owner=owner, profile=profile, expires_at=expires_at)
