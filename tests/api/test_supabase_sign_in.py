"""Sign-in through Supabase as the credential resolver sees it: headers in, a user
(or a clear refusal) out."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import jwt
import pytest
from pydantic import SecretStr

from chatgate.errors import Forbidden, NotAuthenticated
from chatgate.settings import Settings
from chatgate.supabase.session_tokens import EXPIRED
from chatgate.supabase.sign_in import SupabaseSignIn

SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
SUB = "7d0d2f53-5d1e-4d35-9d38-8d1c2f0b6a11"


def access_token(**changes: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://abcd.supabase.co/auth/v1",
        "aud": "authenticated",
        "sub": SUB,
        "role": "authenticated",
        "email": "zoe@example.com",
        "exp": now + 3600,
        **changes,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def session_cookie(token: str) -> str:
    # As @supabase/ssr 0.0.10 stores it (what Chatbot UI pins), encoded by the browser.
    session = {"access_token": token, "refresh_token": "r", "user": {"id": SUB}}
    return "sb-abcd-auth-token=" + quote(json.dumps(session), safe="")


@pytest.fixture
async def sign_in() -> AsyncIterator[SupabaseSignIn]:
    settings = Settings(
        supabase_url="https://abcd.supabase.co",
        supabase_jwt_secret=SecretStr(SECRET),
        cors_origins=["https://admin.example.com"],
    )
    async with aiohttp.ClientSession() as http:
        built = SupabaseSignIn.from_settings(settings, http=http)
        assert built is not None
        yield built


def chat_request(**headers: str) -> dict[str, str]:
    # What fetchChatResponse sends: the page's origin and the cookie, nothing else.
    return {"host": "chat.example.com", "origin": "https://chat.example.com", **headers}


async def test_the_session_cookie_signs_the_user_in(sign_in: SupabaseSignIn) -> None:
    headers = chat_request(cookie="theme=dark; " + session_cookie(access_token()))
    token = sign_in.cookie_token(headers=headers, scheme="https", peer="203.0.113.9")
    assert token is not None
    user = await sign_in.verify(token)
    assert (user.issuer, user.subject, user.email) == (
        "https://abcd.supabase.co/auth/v1",
        SUB,
        "zoe@example.com",
    )


async def test_a_session_cookie_sent_by_another_site_is_refused(sign_in: SupabaseSignIn) -> None:
    headers = chat_request(cookie=session_cookie(access_token()), origin="https://evil.example.net")
    with pytest.raises(Forbidden, match="Cross-site request refused"):
        sign_in.cookie_token(headers=headers, scheme="https", peer="203.0.113.9")


async def test_other_cookies_from_another_site_are_no_sign_in_and_no_refusal(
    sign_in: SupabaseSignIn,
) -> None:
    headers = chat_request(cookie="theme=dark", origin="https://evil.example.net")
    assert sign_in.cookie_token(headers=headers, scheme="https", peer=None) is None


async def test_an_expired_session_cookie_asks_the_user_to_sign_in_again(
    sign_in: SupabaseSignIn,
) -> None:
    headers = chat_request(cookie=session_cookie(access_token(exp=int(time.time()) - 3600)))
    token = sign_in.cookie_token(headers=headers, scheme="https", peer=None)
    assert token is not None
    with pytest.raises(NotAuthenticated, match=EXPIRED):
        await sign_in.verify(token)


async def test_without_a_project_url_the_cookie_is_not_read() -> None:
    settings = Settings(
        jwt_issuer="https://auth.example.com/", supabase_jwt_secret=SecretStr(SECRET)
    )
    async with aiohttp.ClientSession() as http:
        sign_in = SupabaseSignIn.from_settings(settings, http=http)
        assert sign_in is not None
        assert sign_in.cookie_name is None
        headers = chat_request(cookie=session_cookie(access_token()))
        assert sign_in.cookie_token(headers=headers, scheme="https", peer=None) is None
        assert SupabaseSignIn.from_settings(Settings(), http=http) is None
