"""Sign-in through Supabase, as one piece for the credential resolver: the session
token from a bearer header or the session cookie, the same-site rule for the
cookie, and the token's verification."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp

from chatgate.settings import Settings
from chatgate.supabase.cookies import session_access_token, session_cookie_name
from chatgate.supabase.request_origin import Network, refuse_cross_site

if TYPE_CHECKING:
    from chatgate.supabase.session_tokens import SessionTokenVerifier, SessionUser

# Reading a session cookie costs more than the rest of a cached sign-in (a chunked
# one, tens of microseconds): the cookies seen last are remembered, within a bound.
REMEMBERED_COOKIES = 256
MAX_REMEMBERED_COOKIE = 16 * 1024


class SupabaseSignIn:
    def __init__(
        self,
        *,
        verifier: SessionTokenVerifier,
        cookie_name: str | None,
        trusted_proxies: Sequence[Network] = (),
        allowed_origins: Collection[str] = (),
    ) -> None:
        self.verifier = verifier
        self.cookie_name = cookie_name
        self._trusted_proxies = trusted_proxies
        self._allowed_origins = allowed_origins
        self._read: dict[str, str] = {}  # Cookie header -> its session's access token

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: aiohttp.ClientSession
    ) -> SupabaseSignIn | None:
        """None unless ``CHATGATE_SUPABASE_URL`` (or ``CHATGATE_JWT_ISSUER``) is set; the
        cookie is read only with ``CHATGATE_SUPABASE_URL``, which names it."""
        if settings.session_issuer is None:
            return None
        # Imported here: PyJWT and cryptography's key formats cost a server that does not
        # sign in through Supabase about 2 MB.
        from chatgate.supabase.session_tokens import session_verifier

        verifier = session_verifier(settings, http=http)
        if verifier is None:
            return None
        return cls(
            verifier=verifier,
            cookie_name=session_cookie_name(settings.supabase_url)
            if settings.supabase_url
            else None,
            trusted_proxies=settings.trusted_proxies,
            allowed_origins=settings.cors_origins,
        )

    def cookie_token(
        self, *, headers: Mapping[str, str], scheme: str, peer: str | None
    ) -> str | None:
        """The access token of the session cookie, for a request without an Authorization
        header; None without one. Raises CrossSiteRequest (403) when a session cookie
        came with a request from another site."""
        cookie = headers.get("cookie")
        if self.cookie_name is None or not cookie:
            return None
        token = self._read.get(cookie)
        if token is None:
            token = session_access_token(cookie, cookie_name=self.cookie_name)
            if token is not None and len(cookie) <= MAX_REMEMBERED_COOKIE:
                if len(self._read) >= REMEMBERED_COOKIES:
                    self._read.clear()
                self._read[cookie] = token
        if token is not None:
            refuse_cross_site(
                headers=headers,
                scheme=scheme,
                peer=peer,
                trusted_proxies=self._trusted_proxies,
                allowed_origins=self._allowed_origins,
            )
        return token

    async def verify(self, token: str) -> SessionUser:
        """Raises NotAuthenticated (401) or SigningKeysUnavailable (503)."""
        return await self.verifier.verify(token)
