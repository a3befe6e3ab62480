"""Supabase access tokens (or any JWT of the configured issuer), verified locally.

HS256 tokens are checked with the project's JWT secret; ES256, RS256 and EdDSA
tokens against the project's signing keys, chosen by ``kid``. An algorithm
without its key configured is refused, so a token signed with the public key
as an HMAC secret (key confusion) never passes. Beyond the signature: ``exp``
present and not past, ``aud``, ``iss``, ``role`` = ``authenticated`` (which
refuses the project's anon and service-role keys) and ``sub``.

Why a token was refused goes to the log; the caller sees one of two messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
import jwt
from pydantic import SecretStr

from chatgate.errors import NotAuthenticated
from chatgate.settings import Settings
from chatgate.supabase.signing_keys import SigningKeys, UnknownSigningKey

log = logging.getLogger(__name__)

EXPIRED = "Your session has expired. Please sign in again."
INVALID = "Invalid session token"
MAX_TOKEN_CHARS = 16 * 1024
LEEWAY_SECONDS = 30
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256", "EdDSA"})


@dataclass(frozen=True, slots=True)
class SessionUser:
    """Who a verified token speaks for: (issuer, subject) names them for good."""

    issuer: str
    subject: str
    email: str | None
    expires_at: int  # the token's exp: no cache may use it longer


class SessionTokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str = "authenticated",
        jwt_secret: SecretStr | None = None,
        signing_keys: SigningKeys | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwt_secret = jwt_secret
        self._signing_keys = signing_keys

    async def verify(self, token: str) -> SessionUser:
        """The token's user; raises NotAuthenticated, or SigningKeysUnavailable (503)
        when the key it needs cannot be fetched."""
        try:
            key, algorithm = await self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            log.info("session token refused: %s", exc)
            raise NotAuthenticated(EXPIRED) from exc
        except (jwt.InvalidTokenError, UnknownSigningKey) as exc:
            log.info("session token refused: %s: %s", type(exc).__name__, exc)
            raise NotAuthenticated(INVALID) from exc
        return self._user(claims)

    async def _key_for(self, token: str) -> tuple[jwt.PyJWK | str, str]:
        if len(token) > MAX_TOKEN_CHARS:
            raise jwt.InvalidTokenError("longer than any session token")
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._jwt_secret is not None:
            return self._jwt_secret.get_secret_value(), algorithm
        if algorithm in ASYMMETRIC_ALGORITHMS and self._signing_keys is not None:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise jwt.InvalidTokenError("no kid in the header")
            return await self._signing_keys.key(kid), algorithm
        raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not configured")

    def _user(self, claims: dict[str, object]) -> SessionUser:
        subject, role, email = claims.get("sub"), claims.get("role"), claims.get("email")
        if role != "authenticated" or not isinstance(subject, str) or not subject:
            log.info("session token refused: role %r, sub %r", role, subject)
            raise NotAuthenticated(INVALID)
        expires_at = claims["exp"]
        return SessionUser(
            issuer=self.issuer,
            subject=subject,
            email=email if isinstance(email, str) and email else None,
            expires_at=int(expires_at) if isinstance(expires_at, int | float) else 0,
        )


def session_verifier(
    settings: Settings, *, http: aiohttp.ClientSession
) -> SessionTokenVerifier | None:
    """The verifier the settings describe; None when sign-in by access token is off."""
    issuer = settings.session_issuer
    if issuer is None:
        return None
    jwks_url = settings.session_jwks_url
    return SessionTokenVerifier(
        issuer=issuer,
        audience=settings.jwt_audience,
        jwt_secret=settings.supabase_jwt_secret,
        # Fetched only when an ES256, RS256 or EdDSA token first arrives.
        signing_keys=SigningKeys(url=jwks_url, http=http) if jwks_url else None,
    )
