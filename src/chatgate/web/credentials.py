"""The one credential resolver: who a request comes from, for every route.

Two kinds of credential end in an ``Identity``: an access token,
``Authorization: Bearer cg_...``, and the page's session cookie (see
chatgate.sessions), read only when there is no Authorization header. A cookie
rides along on requests other sites' pages make, so a cookie-signed request
from another origin is refused (403). Identities are cached (``IdentityCache``),
and a change made through the API (a profile saved, a token revoked, a user
disabled) drops the user's entries at once.
"""

from __future__ import annotations

from starlette.types import Scope

from chatgate.auth import authenticate, bearer_token
from chatgate.db.queries import TokenOwner
from chatgate.identities import Identity
from chatgate.profiles import load_profile
from chatgate.runtime import Runtime
from chatgate.sessions import session_cookie, session_owner
from chatgate.supabase.request_origin import refuse_cross_site
from chatgate.web.headers import header


class Credentials:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def resolve(self, scope: Scope) -> Identity:
        """The caller's identity; NotAuthenticated (401) without a valid credential."""
        authorization = header(scope, b"authorization")
        if authorization is None:
            session_id = self.session_id(scope)
            if session_id is not None:
                return await self.runtime.identities.resolve(session_id, self._load_session)
        return await self.for_token(bearer_token(authorization))

    def session_id(self, scope: Scope) -> str | None:
        """The session cookie's id; CrossSiteRequest (403) when it came from another site."""
        session_id = session_cookie(header(scope, b"cookie"))
        if session_id is not None:
            self.refuse_cross_site(scope)
        return session_id

    def refuse_cross_site(self, scope: Scope) -> None:
        settings = self.runtime.settings
        client = scope.get("client")
        refuse_cross_site(
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            scheme=scope.get("scheme", "http"),
            peer=client[0] if client else None,
            trusted_proxies=settings.trusted_proxies,
            allowed_origins=settings.cors_origins,
        )

    async def for_token(self, token: str) -> Identity:
        return await self.runtime.identities.resolve(token, self._load)

    async def _load(self, token: str) -> Identity:
        return await self._identity(await authenticate(self.runtime.db, token))

    async def _load_session(self, session_id: str) -> Identity:
        return await self._identity(await session_owner(self.runtime.db, session_id))

    async def _identity(self, owner: TokenOwner) -> Identity:
        runtime = self.runtime
        # A stored key that no longer opens is marked in the profile, not raised here:
        # only a chat that needs that key fails.
        profile = await load_profile(
            db=runtime.db,
            keyring=runtime.keyring,
            user_id=owner.user_id,
            provider_env=runtime.settings.provider_env,
        )
        return Identity(owner=owner, profile=profile)
