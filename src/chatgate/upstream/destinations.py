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
from dataclasses import dataclass, field
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


def host_port(entry: str) -> tuple[str, int | None]:
    """``host`` or ``host:port`` (``[::1]:11434`` for IPv6), lower-cased."""
    parts = urlsplit("//" + entry.strip())
    return (parts.hostname or entry.strip().lower()), parts.port


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which addresses a request may reach when private ones are denied."""

    deny_private: bool = False
    # Hosts (names or addresses, any port) the operator allows even if private.
    allowed_hosts: frozenset[str] = frozenset()
    # The operator's provider roots, as (host, port): never filtered.
    operator_destinations: frozenset[tuple[str, int]] = frozenset()
    _allowed_addresses: frozenset[IPAddress] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        addresses = set()
        for host in self.allowed_hosts:
            try:
                addresses.add(ipaddress.ip_address(host))
            except ValueError:
                continue
        object.__setattr__(self, "_allowed_addresses", frozenset(addresses))

    @classmethod
    def build(
        cls, *, deny_private: bool, allowed: Collection[str], operator_urls: Collection[str]
    ) -> DestinationPolicy:
        operator = set()
        for url in operator_urls:
            parts = urlsplit(url)
            if parts.hostname:
                default_port = 443 if parts.scheme == "https" else 80
                operator.add((parts.hostname, parts.port or default_port))
        return cls(
            deny_private=deny_private,
            allowed_hosts=frozenset(host_port(entry)[0] for entry in allowed if entry.strip()),
            operator_destinations=frozenset(operator),
        )

    def exempt(self, host: str, port: int) -> bool:
        """A host whose addresses are not checked at all."""
        host = host.lower().rstrip(".")
        return host in self.allowed_hosts or (host, port) in self.operator_destinations

    def allows(self, address: IPAddress) -> bool:
        return is_public(address) or address in self._allowed_addresses

    def allowed_results(self, host: str, results: list[ResolveResult]) -> list[ResolveResult]:
        """The resolved addresses chatgate may connect to; DestinationRefused for none."""
        allowed = [r for r in results if self.allows(ipaddress.ip_address(r["host"]))]
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
        return self._policy.allowed_results(host, results)

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
            if address is not None and not policy.allows(address):
                raise DestinationRefused(host)
        return await handler(request)

    return guard
