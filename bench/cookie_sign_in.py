"""W1 signed in as a Chatbot UI deployment signs its users in (README, "Behind
Chatbot UI"): no Authorization header but Supabase's session cookie, holding an
HS256 access token, and the user's OpenAI key read from Chatbot UI's own
``public.profiles`` table (``CHATGATE_SUPABASE_DATABASE_URL``), here in a
throwaway PostgreSQL database standing for the Supabase project's."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from urllib.parse import quote

import asyncpg
import jwt

from bench.measure import Target
from bench.shared_state import throwaway_database
from bench.systems import API_KEY, Systems, serving
from chatgate.profile_fields import FIELD_NAMES

SUPABASE_URL = "https://bench.supabase.co"
COOKIE_NAME = "sb-bench-auth-token"  # sb-<ref>-auth-token, <ref> the host's first label
ISSUER = f"{SUPABASE_URL}/auth/v1"
SESSION_SECONDS = 4 * 3600  # longer than any run: the token never expires mid-run
# @supabase/ssr 0.0.10, which Chatbot UI uses, splits a longer value into chunks.
MAX_COOKIE_CHARS = 3180
SYSTEM = "chatgate, Supabase cookie"


# Chatbot UI's profiles table: the key columns chatgate reads, all text.
PROFILES_TABLE = (
    "CREATE TABLE public.profiles (id UUID PRIMARY KEY DEFAULT gen_random_uuid(),"
    " user_id UUID NOT NULL UNIQUE, " + ", ".join(f"{name} TEXT" for name in FIELD_NAMES) + ")"
)
ENCODE_URI_COMPONENT_SAFE = "-_.!~*'()"


async def save_openai_key(database_url: str, *, subject: str, openai_api_key: str) -> None:
    """The profile row of a user who saved an OpenAI key in Chatbot UI's settings."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO public.profiles (user_id, openai_api_key) VALUES ($1, $2)",
            uuid.UUID(subject),
            openai_api_key,
        )
    finally:
        await conn.close()


def access_token(*, subject: str, email: str, secret: str, now: float) -> str:
    """An access token as Supabase Auth issues it, signed with the project's secret."""
    issued = int(now)
    claims = {
        "aud": "authenticated",
        "exp": issued + SESSION_SECONDS,
        "iat": issued,
        "iss": ISSUER,
        "sub": subject,
        "email": email,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": issued}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def session_cookie(*, token: str, subject: str, email: str, expires_at: int) -> str:
    """The Cookie header a browser sends once @supabase/ssr 0.0.10 stored the session:
    its JSON, percent-encoded as encodeURIComponent does."""
    session = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": SESSION_SECONDS,
        "expires_at": expires_at,
        "refresh_token": secrets.token_urlsafe(16),
        "user": {
            "id": subject,
            "aud": "authenticated",
            "role": "authenticated",
            "email": email,
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
        },
    }
    value = json.dumps(session, separators=(",", ":"))
    if len(value) > MAX_COOKIE_CHARS:
        raise ValueError("the session is too long for one cookie")
    return f"{COOKIE_NAME}={quote(value, safe=ENCODE_URI_COMPONENT_SAFE)}"


def cookie_settings(*, database_url: str, jwt_secret: str) -> dict[str, str]:
    """What chatgate runs with behind Chatbot UI: its Supabase project and database."""
    return {
        "CHATGATE_SUPABASE_URL": SUPABASE_URL,
        "CHATGATE_SUPABASE_JWT_SECRET": jwt_secret,
        "CHATGATE_SUPABASE_DATABASE_URL": database_url,
    }


SETTING_NAMES = tuple(cookie_settings(database_url="", jwt_secret=""))


@asynccontextmanager
async def cookie_signed_in(running_systems: Systems) -> AsyncIterator[Target]:
    """chatgate with one worker configured as behind Chatbot UI, and the target
    that reaches it signed in by a Supabase user's session cookie."""
    subject, email = str(uuid.uuid4()), "bench@example.com"
    jwt_secret = secrets.token_hex(32)
    async with throwaway_database(PROFILES_TABLE) as url:
        await save_openai_key(url, subject=subject, openai_api_key=API_KEY)
        env: Mapping[str, str] = dict(running_systems.env) | cookie_settings(
            database_url=url, jwt_secret=jwt_secret
        )
        now = time.time()
        token = access_token(subject=subject, email=email, secret=jwt_secret, now=now)
        cookie = session_cookie(
            token=token, subject=subject, email=email, expires_at=int(now) + SESSION_SECONDS
        )
        async with serving(
            workers=1, env=env, log_dir=running_systems.data_dir, name="chatgate-cookie"
        ) as service:
            target = running_systems.through(service, system=SYSTEM)
            yield replace(target, cookie=cookie)
