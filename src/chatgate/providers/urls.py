"""The roots users give for their own upstreams: custom model base URLs and
Azure endpoints, which chatgate appends a path to and calls."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Names as DNS spells them (IDNs in their xn-- form), IPv4 and bracketed IPv6:
# nothing that one parser could read as another host than the next one does.
HOST = re.compile(r"[A-Za-z0-9._:-]+")


def check_root_url(value: str) -> str:
    """``value`` as a provider root (no trailing slash), or ValueError saying what is wrong.

    Checked as typed as well as parsed: urlsplit drops an empty query or
    fragment (``https://host/v1?``), which would then swallow the path
    chatgate appends."""
    if not value.isprintable() or any(c.isspace() or c == "\\" for c in value):
        raise ValueError("must be one URL without spaces or backslashes")
    if "?" in value or "#" in value:
        raise ValueError("must not have a query or fragment: a path is appended to it")
    try:
        parts = urlsplit(value)
        port = parts.port  # out of range or not a number: ValueError
    except ValueError as exc:
        raise ValueError("is not a valid URL") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if not HOST.fullmatch(parts.hostname):
        raise ValueError("must name its host in letters, digits, '-' and '.' (or an IP address)")
    if "@" in parts.netloc:
        raise ValueError("must not hold credentials: put the key in api_key")
    if port == 0:
        raise ValueError("has no valid port")
    return value.rstrip("/")
