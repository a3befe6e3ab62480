"""A Supabase project as the browser and chatgate see it: its access tokens (HS256 with
the project's secret) and its session cookie, as each ``@supabase/ssr`` version
writes it (tests/fixtures/supabase_cookies, made by those libraries)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt

SUPABASE_URL = "https://abcd.supabase.co"  # the fixtures' cookie: sb-abcd-auth-token
ISSUER = SUPABASE_URL + "/auth/v1"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
COOKIES: list[dict[str, str]] = json.loads(
    (Path(__file__).parent / "fixtures" / "supabase_cookies" / "cookies.json").read_text()
)


def claims(subject: str | None = None, **changes: Any) -> dict[str, Any]:
    subject = subject or str(uuid.uuid4())
    return {
        "iss": ISSUER,
        "aud": "authenticated",
        "sub": subject,
        "role": "authenticated",
        "email": f"{subject[:8]}@example.com",
        "exp": int(time.time()) + 3600,
        **changes,
    }


def access_token(subject: str | None = None, **changes: Any) -> str:
    """A signed-in user's access token, HS256 with the project's secret."""
    return jwt.encode(claims(subject, **changes), SECRET, algorithm="HS256")


def session_cookie(token: str, *, fixture: int = 0) -> str:
    """The ``Cookie`` header a browser sends: the fixture's session (one of COOKIES,
    in its version's format and chunking) holding ``token``."""
    made = COOKIES[fixture]
    pairs = [pair.split("=", 1) for pair in made["cookie"].split("; ")]
    values = [value for _, value in pairs]
    if not values[0].startswith("base64-"):
        # 0.0.10: the JSON, percent-encoded; the token's characters are left as they are.
        assert made["access_token"] in values[0]
        values[0] = values[0].replace(made["access_token"], token)
    else:
        # 0.4 and later: base64url of the JSON, split after encoding; split again alike.
        joined = "".join(values)[len("base64-") :]
        session = base64.urlsafe_b64decode(joined + "=" * (-len(joined) % 4)).decode()
        session = session.replace(made["access_token"], token)
        encoded = "base64-" + base64.urlsafe_b64encode(session.encode()).decode().rstrip("=")
        sizes = [len(value) for value in values[:-1]]
        values = []
        for size in sizes:
            values.append(encoded[:size])
            encoded = encoded[size:]
        values.append(encoded)
    return "; ".join(f"{name}={value}" for (name, _), value in zip(pairs, values, strict=True))


def plain_session_cookie(token: str) -> str:
    """One unchunked cookie as @supabase/ssr 0.0.10 (Chatbot UI's) writes it."""
    session = {"access_token": token, "refresh_token": "r", "token_type": "bearer"}
    return "sb-abcd-auth-token=" + quote(json.dumps(session), safe="")
