"""The one credential resolver: who a request comes from, for every route.

Today the credential is an access token, ``Authorization: Bearer cg_...``;
another kind (a session cookie, a signed JWT) is one more branch in ``resolve``
that ends in an ``Identity`` too. Identities are cached (``IdentityCache``), and
a change made through the API (a profile saved, a token revoked) drops the
user's entries at once.
"""

from __future__ import annotations

from starlette.types import Scope

from chatgate.auth import authenticate, bearer_token
from chatgate.identities import Identity
from chatgate.profiles import load_profile
from chatgate.runtime import Runtime
from chatgate.web.headers import header


class Credentials:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def resolve(self, scope: Scope) -> Identity:
        """The caller's identity; NotAuthenticated (401) without a valid credential."""
        return await self.for_token(bearer_token(header(scope, b"authorization")))

    async def for_token(self, token: str) -> Identity:
        return await self.runtime.identities.resolve(token, self._load)

    async def _load(self, token: str) -> Identity:
        runtime = self.runtime
        owner = await authenticate(runtime.db, token)
        # A stored key that no longer opens is marked in the profile, not raised here:
        # only a chat that needs that key fails.
        profile = await load_profile(
            db=runtime.db,
            keyring=runtime.keyring,
            user_id=owner.user_id,
            provider_env=runtime.settings.provider_env,
        )
        return Identity(owner=owner, profile=profile)
