"""Where chatgate may send a request that a user chose the address of.

Custom model base URLs and Azure endpoints are typed by users, and chatgate
calls them from inside the operator's network. Two guards stand in the way:
``chatgate.providers.urls.check_root_url`` refuses what is not a plain http(s)
root; ``DestinationPolicy`` refuses private, loopback and link-local addresses
once a name is resolved, inside the HTTP session, so a name that resolves to a
public address at one moment and a private one the next (DNS rebinding)
cannot slip past. The operator's own provider URLs are exempt.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

ALLOW_SETTING = "CHATGATE_ALLOWED_UPSTREAM_HOSTS"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(OSError):
    """An address the policy does not let chatgate call.

    An OSError, so aiohttp carries it out of its resolver; the upstream error
    map turns it into the caller's 400."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} is a private address")
        self.host = host


def is_public(address: IPAddress) -> bool:
    """Routable on the internet: not loopback, private, link-local (the cloud
    metadata service at 169.254.169.254), unique-local, shared or reserved."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def normal_host(host: str) -> str:
    """A host as the policy compares it: an address in its canonical form, a
    name lower-cased without a final dot."""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host.lower().rstrip(".")


def destination(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or a URL (``::1`` or ``[::1]:11434`` for IPv6) as (host, port)."""
    entry = entry.strip()
    try:
        return normal_host(str(ipaddress.ip_address(entry))), None  # a bare IPv6 address
    except ValueError:
        pass
    try:
        parts = urlsplit(entry if "//" in entry else "//" + entry)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{entry!r} is not a host, host:port or URL") from exc
    if port is None and parts.scheme in ("http", "https"):
        port = 443 if parts.scheme == "https" else 80
    return normal_host(parts.hostname or entry), port


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which addresses a request may reach when private ones are denied."""

    deny_private: bool = False
    # Hosts (names or addresses) the operator allows on any port even if private.
    allowed_hosts: frozenset[str] = frozenset()
    # (host, port) pairs never checked: the operator's provider roots, and
    # allowed entries that name a port.
    exempt_destinations: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def build(
        cls, *, deny_private: bool, allowed: Collection[str], operator_urls: Collection[str]
    ) -> DestinationPolicy:
        hosts: set[str] = set()
        exempt: set[tuple[str, int]] = set()
        for host, port in map(destination, [*allowed, *operator_urls]):
            if port is None:
                hosts.add(host)
            else:
                exempt.add((host, port))
        hosts.discard("")
        return cls(
            deny_private=deny_private,
            allowed_hosts=frozenset(hosts),
            exempt_destinations=frozenset(exempt),
        )

    def exempt(self, host: str, port: int) -> bool:
        """A host whose addresses are not checked at all."""
        host = normal_host(host)
        return host in self.allowed_hosts or (host, port) in self.exempt_destinations

    def allows(self, address: IPAddress, port: int) -> bool:
        return is_public(address) or self.exempt(address.compressed, port)

    def allowed_results(
        self, host: str, port: int, results: list[ResolveResult]
    ) -> list[ResolveResult]:
        """The resolved addresses chatgate may connect to; DestinationRefused for none."""
        allowed = [r for r in results if self.allows(ipaddress.ip_address(r["host"]), port)]
        if not allowed:
            raise DestinationRefused(host)
        return allowed


class GuardedResolver(AbstractResolver):
    """The default resolver, with the policy applied to what it returns."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._policy.exempt(host, port):
            return results
        return self._policy.allowed_results(host, port, results)

    async def close(self) -> None:
        await self._inner.close()


def literal_address_guard(policy: DestinationPolicy) -> ClientMiddlewareType:
    """A client middleware for what no resolver sees: URLs holding an IP address."""

    async def guard(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        host, port = request.url.host, request.url.port
        if host is not None and port is not None and not policy.exempt(host, port):
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                address = None  # a name: the resolver checks what it resolves to
            if address is not None and not policy.allows(address, port):
                raise DestinationRefused(host)
        return await handler(request)

    return guard
