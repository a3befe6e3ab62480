"""The one HTTP session every upstream request of the process shares."""

from __future__ import annotations

import aiohttp
import orjson

from chatgate.upstream.destinations import (
    DestinationPolicy,
    GuardedResolver,
    literal_address_guard,
)


def new_session(destinations: DestinationPolicy | None = None) -> aiohttp.ClientSession:
    """The shared session; with ``destinations`` denying private addresses,
    every connection it opens is checked where its address is known."""
    policy = destinations or DestinationPolicy()
    guarded = policy.deny_private
    connector = aiohttp.TCPConnector(
        limit=0,
        ttl_dns_cache=300,
        enable_cleanup_closed=True,
        resolver=GuardedResolver(policy) if guarded else None,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        json_serialize=lambda obj: orjson.dumps(obj).decode(),
        auto_decompress=True,
        # Set here rather than skipped: a skip list makes aiohttp build a header
        # dict on every request, where a default header costs nothing.
        headers={"User-Agent": "chatgate"},
        middlewares=(literal_address_guard(policy),) if guarded else (),
    )
