"""Supabase access tokens verified locally: HS256 with the project's secret, ES256,
RS256 and EdDSA against its JWKS, served here by a real server on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from pydantic import SecretStr

from chatgate.errors import NotAuthenticated, ServiceUnavailable
from chatgate.supabase.session_tokens import (
    EXPIRED,
    INVALID,
    SessionTokenVerifier,
    SessionUser,
)
from chatgate.supabase.signing_keys import SigningKeys

ISSUER = "https://abcd.supabase.co/auth/v1"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
SUB = "7d0d2f53-5d1e-4d35-9d38-8d1c2f0b6a11"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKey

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        jwk: dict[str, Any]
        if isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )


def es256(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "authenticated",
        "sub": SUB,
        "role": "authenticated",
        "email": "zoe@example.com",
        "iat": now,
        "exp": now + 3600,
        "session_id": "s1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


@dataclass
class Jwks:
    """What the project serves at /auth/v1/.well-known/jwks.json, and how often it was asked."""

    keys: list[SigningKey] = field(default_factory=list)
    status: int = 200
    fetches: int = 0
    delay: float = 0.0

    async def handle(self, _request: web.Request) -> web.Response:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"message": "unavailable"}, status=self.status)
        return web.json_response({"keys": [k.jwk() for k in self.keys]})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def jwks() -> AsyncIterator[tuple[Jwks, str]]:
    served = Jwks()
    app = web.Application()
    app.router.add_get("/auth/v1/.well-known/jwks.json", served.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield served, str(server.make_url("/auth/v1/.well-known/jwks.json"))
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(jwks: tuple[Jwks, str], http: aiohttp.ClientSession, clock: Clock) -> SigningKeys:
    return SigningKeys(url=jwks[1], http=http, clock=clock)


def verifier_with(keys: SigningKeys | None, secret: str | None = None) -> SessionTokenVerifier:
    return SessionTokenVerifier(
        issuer=ISSUER,
        jwt_secret=SecretStr(secret) if secret else None,
        signing_keys=keys,
    )


async def refused(verifier: SessionTokenVerifier, token: str) -> str:
    with pytest.raises(NotAuthenticated) as caught:
        await verifier.verify(token)
    assert caught.value.status == 401
    return caught.value.message


async def test_an_hs256_session_token_names_its_user() -> None:
    user = await verifier_with(None, SECRET).verify(hs256(claims()))
    assert user == SessionUser(
        issuer=ISSUER, subject=SUB, email="zoe@example.com", expires_at=claims()["exp"]
    )


@pytest.mark.parametrize(
    "key",
    [
        es256("es-1"),
        SigningKey("rs-1", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        SigningKey("ed-1", "EdDSA", ed25519.Ed25519PrivateKey.generate()),
    ],
    ids=lambda k: k.algorithm,
)
async def test_asymmetric_tokens_are_checked_against_the_jwks(
    key: SigningKey, jwks: tuple[Jwks, str], keys: SigningKeys
) -> None:
    jwks[0].keys = [es256("other"), key]
    user = await verifier_with(keys).verify(key.sign(claims(email=None)))
    assert (user.subject, user.email) == (SUB, None)


async def test_a_burst_of_new_tokens_fetches_the_jwks_once(
    jwks: tuple[Jwks, str], keys: SigningKeys
) -> None:
    served, _ = jwks
    key = es256("k1")
    served.keys, served.delay = [key], 0.05
    verifier = verifier_with(keys)
    users = await asyncio.gather(*(verifier.verify(key.sign(claims())) for _ in range(20)))
    assert {u.subject for u in users} == {SUB}
    assert served.fetches == 1


async def test_a_rotated_key_is_fetched_at_most_every_30_seconds(
    jwks: tuple[Jwks, str], keys: SigningKeys, clock: Clock
) -> None:
    served, _ = jwks
    old, new, unknown = es256("old"), es256("new"), es256("unknown")
    served.keys = [old]
    verifier = verifier_with(keys)
    await verifier.verify(old.sign(claims()))
    clock.now += 31
    served.keys = [old, new]  # the project rotates: a new kid appears
    assert (await verifier.verify(new.sign(claims()))).subject == SUB
    assert served.fetches == 2
    # A kid nobody serves costs one fetch, then none for 30 s.
    clock.now += 31
    assert await refused(verifier, unknown.sign(claims())) == INVALID
    assert await refused(verifier, unknown.sign(claims())) == INVALID
    clock.now += 29
    assert await refused(verifier, unknown.sign(claims())) == INVALID
    assert served.fetches == 3
    clock.now += 2
    assert await refused(verifier, unknown.sign(claims())) == INVALID
    assert served.fetches == 4


async def test_the_set_is_fetched_again_after_ten_minutes(
    jwks: tuple[Jwks, str], keys: SigningKeys, clock: Clock
) -> None:
    served, _ = jwks
    retired, current = es256("retired"), es256("current")
    served.keys = [retired, current]
    verifier = verifier_with(keys)
    await verifier.verify(retired.sign(claims()))
    served.keys = [current]
    clock.now += 599
    await verifier.verify(retired.sign(claims()))
    assert served.fetches == 1
    clock.now += 2
    assert await refused(verifier, retired.sign(claims())) == INVALID
    assert served.fetches == 2
    await verifier.verify(current.sign(claims()))


async def test_an_unreachable_jwks_is_a_503_with_a_clear_message(
    http: aiohttp.ClientSession, clock: Clock
) -> None:
    keys = SigningKeys(url="http://127.0.0.1:9/jwks.json", http=http, clock=clock)
    with pytest.raises(ServiceUnavailable) as caught:
        await verifier_with(keys).verify(es256("k").sign(claims()))
    assert caught.value.status == 503
    assert "signing keys are unavailable" in caught.value.message


async def test_when_the_jwks_fails_held_keys_still_verify_and_others_are_503(
    jwks: tuple[Jwks, str], keys: SigningKeys, clock: Clock
) -> None:
    served, _ = jwks
    held, new = es256("held"), es256("new")
    served.keys = [held]
    verifier = verifier_with(keys)
    await verifier.verify(held.sign(claims()))
    served.status, served.keys = 500, [held, new]
    clock.now += 700  # the set is stale: it is fetched again, and that fails
    assert (await verifier.verify(held.sign(claims()))).subject == SUB
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(new.sign(claims()))
    assert served.fetches == 2  # after a failure, the next attempt waits 5 s
    clock.now += 5
    served.status = 200
    assert (await verifier.verify(new.sign(claims()))).subject == SUB
    assert served.fetches == 3


@pytest.mark.parametrize("body", [b"not json", b'{"keys": "none"}', b"[]"])
async def test_a_jwks_that_is_not_one_counts_as_unavailable(
    body: bytes, http: aiohttp.ClientSession, clock: Clock
) -> None:
    async def respond(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/jwks", respond)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        keys = SigningKeys(url=str(server.make_url("/jwks")), http=http, clock=clock)
        with pytest.raises(ServiceUnavailable):
            await verifier_with(keys).verify(es256("k").sign(claims()))
    finally:
        await server.close()


async def test_an_expired_session_says_so_within_a_30_second_leeway() -> None:
    verifier = verifier_with(None, SECRET)
    now = int(time.time())
    assert (await verifier.verify(hs256(claims(exp=now - 20)))).subject == SUB
    assert await refused(verifier, hs256(claims(exp=now - 40))) == EXPIRED


def anon_key() -> str:
    # The shape of a project's anon and service-role keys: signed with the same secret.
    now = int(time.time())
    return hs256({"iss": "supabase", "ref": "abcd", "role": "anon", "iat": now, "exp": now + 10**8})


def service_role_key() -> str:
    now = int(time.time())
    payload = {"iss": "supabase", "ref": "abcd", "role": "service_role", "iat": now}
    return hs256({**payload, "exp": now + 10**8})


def none_algorithm(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, "", algorithm="none")


REFUSED_HS256 = {
    "anon key": anon_key,
    "service-role key": service_role_key,
    "service role with this issuer": lambda: hs256(claims(role="service_role")),
    "anon role with a sub": lambda: hs256(claims(role="anon")),
    "alg none": lambda: none_algorithm(claims()),
    "wrong secret": lambda: hs256(claims(), "another-secret-of-at-least-32-characters!!"),
    "other issuer": lambda: hs256(claims(iss="https://evil.supabase.co/auth/v1")),
    "other audience": lambda: hs256(claims(aud="anon")),
    "no exp": lambda: hs256(claims(exp=None)),
    "no sub": lambda: hs256(claims(sub=None)),
    "empty sub": lambda: hs256(claims(sub="")),
    "no role": lambda: hs256(claims(role=None)),
    "not a jwt": lambda: "not-a-jwt",
    "three dots": lambda: "a.b.c",
    "empty": lambda: "",
    "huge": lambda: hs256(claims(pad="x" * 20_000)),
}


@pytest.mark.parametrize("make", REFUSED_HS256.values(), ids=REFUSED_HS256.keys())
async def test_tokens_that_are_not_a_signed_in_users_are_refused(make: Any) -> None:
    assert await refused(verifier_with(None, SECRET), make()) == INVALID


async def test_hs256_is_refused_when_only_the_jwks_is_configured(
    jwks: tuple[Jwks, str], keys: SigningKeys
) -> None:
    served, _ = jwks
    key = es256("k1")
    served.keys = [key]
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Key confusion: the public key used as an HMAC secret.
    forged = hmac_token(claims(), public_pem, kid="k1")
    assert await refused(verifier_with(keys), forged) == INVALID
    assert await refused(verifier_with(keys), hs256(claims())) == INVALID
    assert served.fetches == 0  # refused before any key is looked up


def hmac_token(payload: dict[str, Any], secret: bytes, *, kid: str) -> str:
    # PyJWT refuses to sign HS256 with a PEM; an attacker would not, so sign by hand.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


async def test_asymmetric_tokens_are_refused_without_a_jwks() -> None:
    assert await refused(verifier_with(None, SECRET), es256("k1").sign(claims())) == INVALID


async def test_a_key_is_used_only_for_its_own_algorithm(
    jwks: tuple[Jwks, str], keys: SigningKeys
) -> None:
    served, _ = jwks
    key = es256("k1")
    impostor = SigningKey("k1", "RS256", rsa.generate_private_key(65537, 2048))
    served.keys = [key]
    verifier = verifier_with(keys)
    assert await refused(verifier, impostor.sign(claims())) == INVALID
    other = es256("k1")  # same kid, another key
    assert await refused(verifier, other.sign(claims())) == INVALID
    no_kid = jwt.encode(claims(), key.private, algorithm="ES256")
    assert await refused(verifier, no_kid) == INVALID


async def test_why_a_token_was_refused_is_logged_not_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chatgate.supabase")
    token = hs256(claims(iss="https://evil.supabase.co/auth/v1"))
    assert await refused(verifier_with(None, SECRET), token) == INVALID
    assert "issuer" in caplog.text.lower()
    assert token not in caplog.text
