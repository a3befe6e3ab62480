"""Cross-site requests, refused when a cookie signed the caller in.

A browser sends the session cookie along with requests that pages of other
sites make. Such a request names its page in ``Origin`` (or, without one,
``Referer``); it is same-site when that is the request's own origin (its
``Host``, or ``X-Forwarded-Host``/``X-Forwarded-Proto`` when set by a trusted
proxy) or one of the CORS origins. Neither header: not a browser's cross-site
request, allowed. ``Origin: null`` (sandboxed frames, some redirects) is foreign.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping, Sequence
from ipaddress import IPv4Network, IPv6Network
from urllib.parse import urlsplit

from chatgate.errors import CrossSiteRequest

DEFAULT_PORTS = {"http": 80, "https": 443}
Network = IPv4Network | IPv6Network


def refuse_cross_site(
    *,
    headers: Mapping[str, str],
    scheme: str,
    peer: str | None,
    trusted_proxies: Sequence[Network],
    allowed_origins: Collection[str],
) -> None:
    """Raise CrossSiteRequest (403) unless the request comes from its own site or an
    allowed origin. ``headers`` is looked up by lower-case name, as ASGI gives them."""
    page = headers.get("origin")
    if page is None:
        referer = headers.get("referer")
        if referer is None:
            return
        page = origin_of(referer) or "null"
    own = _own_origin(
        headers=headers, scheme=scheme, trusted=is_trusted_proxy(peer, trusted_proxies)
    )
    page_origin = origin_of(page)
    if page_origin is None:
        raise CrossSiteRequest()
    if page_origin == own or page_origin in {origin_of(o) for o in allowed_origins}:
        return
    raise CrossSiteRequest()


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-case, without a default port; None when
    the URL has no such origin (``null``, garbage, a relative URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return (
        f"{scheme}://{host}"
        if port in (None, DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


def _own_origin(*, headers: Mapping[str, str], scheme: str, trusted: bool) -> str | None:
    host = headers.get("host")
    if trusted:
        # The nearest proxy's value: the one it set, or the last it appended.
        host = last_forwarded(headers.get("x-forwarded-host")) or host
        scheme = last_forwarded(headers.get("x-forwarded-proto")) or scheme
    return origin_of(f"{scheme}://{host}") if host else None


def last_forwarded(value: str | None) -> str | None:
    """The nearest proxy's value of a forwarded header: the one it set, or the last it added."""
    return value.rsplit(",", 1)[-1].strip() or None if value else None


def is_trusted_proxy(peer: str | None, trusted_proxies: Sequence[Network]) -> bool:
    """Whether the connection's peer is a proxy whose forwarded headers are believed."""
    if not peer or not trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:  # a Unix socket's path, or nothing usable
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted_proxies)
