"""The Supabase session cookie, as ``@supabase/ssr`` writes it and a browser sends it.

The cookie is ``sb-<ref>-auth-token``; a value too long for one cookie is split
into ``sb-<ref>-auth-token.0``, ``.1``, ... Each value is percent-encoded by the
browser's cookie serializer: version 0.0.10 splits the raw value before encoding,
0.4 and later split the encoded one, so decoding each chunk before joining serves
both. The joined value is the session JSON, or ``base64-`` followed by its
unpadded base64url encoding (0.4 and later). Only ``access_token`` is used.

Starlette's cookie parser does not percent-decode, hence this one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import unquote, urlsplit

# A session is a few kilobytes; 0.0.10 writes chunks of 3,180 characters before
# encoding, which non-ASCII names can triple. Anything beyond these is not a session.
MAX_COOKIE_HEADER = 64 * 1024
MAX_CHUNKS = 16
MAX_SESSION_CHARS = 48 * 1024

BASE64_PREFIX = "base64-"
_CHUNK_INDEX = re.compile(r"0|[1-9][0-9]{0,2}")


def session_cookie_name(supabase_url: str) -> str:
    """``sb-<ref>-auth-token``, ``<ref>`` being the first DNS label of the project's host
    (``https://abcd.supabase.co`` gives ``sb-abcd-auth-token``), as supabase-js names it."""
    host = urlsplit(supabase_url).hostname or ""
    if ":" in host:  # an IPv6 literal, which the browser's URL keeps in brackets
        host = f"[{host}]"
    return f"sb-{host.split('.')[0]}-auth-token"


def session_access_token(cookie_header: str, *, cookie_name: str) -> str | None:
    """The access token of the session in a ``Cookie`` header, or None when there is
    no such session or it cannot be read (never raises on what a client sends)."""
    if not cookie_header or len(cookie_header) > MAX_COOKIE_HEADER:
        return None
    value = _session_value(_cookies(cookie_header), cookie_name)
    if value is None:
        return None
    session = _session_json(value)
    if not isinstance(session, dict):
        return None
    token = session.get("access_token")
    return token if isinstance(token, str) and token else None


def _cookies(cookie_header: str) -> dict[str, str]:
    """Name to raw value; the first of two cookies with one name wins, as browsers send
    the one with the longer path first."""
    cookies: dict[str, str] = {}
    for pair in cookie_header.split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if sep and name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            cookies.setdefault(name, value)
    return cookies


def _session_value(cookies: dict[str, str], cookie_name: str) -> str | None:
    """The decoded value: the unchunked cookie when present (both library versions read
    it first, and 0.0.10 leaves stale chunks behind), else chunks 0, 1, ... until one
    is missing. The PKCE ``-code-verifier`` cookie never matches."""
    whole = cookies.get(cookie_name)
    if whole:
        decoded = _decoded(whole)
        return decoded if decoded and len(decoded) <= MAX_SESSION_CHARS else None
    parts: list[str] = []
    chunks = _chunks(cookies, cookie_name)
    for index in range(MAX_CHUNKS + 1):
        chunk = chunks.get(index)
        if not chunk:
            break
        decoded = _decoded(chunk)
        if decoded is None or index == MAX_CHUNKS:
            return None
        parts.append(decoded)
    joined = "".join(parts)
    return joined if joined and len(joined) <= MAX_SESSION_CHARS else None


def _chunks(cookies: dict[str, str], cookie_name: str) -> dict[int, str]:
    """``<name>.0``, ``<name>.1``, ... by index (never ``<name>-code-verifier``)."""
    prefix = cookie_name + "."
    return {
        int(suffix): value
        for name, value in cookies.items()
        if name.startswith(prefix) and _CHUNK_INDEX.fullmatch(suffix := name[len(prefix) :])
    }


def _decoded(value: str) -> str | None:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return None


def _session_json(value: str) -> object:
    if value.startswith(BASE64_PREFIX):
        encoded = value[len(BASE64_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            value = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: deeply nested garbage
        return None
