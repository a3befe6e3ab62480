"""The one Redis client of a process, when CHATGATE_REDIS_URL is set.

Imported only then (the client weighs 15 MB of imports), built once by the
runtime and shared by the limits and the identity feed.

What a Redis failure means, decided here for both:
- the limits answer 503: a limit that cannot be counted cannot be kept, and letting
  every request through would silently lift the operator's limits on every instance;
- the identity feed degrades: a change this instance makes is applied here at once, and
  the other instances' cached identities expire by themselves within
  CHATGATE_IDENTITY_CACHE_SECONDS (a second by default), so chat keeps working.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


def client_name() -> str:
    """How this process's connections are named in Redis's CLIENT LIST."""
    return f"chatgate-{os.getpid()}"


def connect_redis(url: str) -> Redis:
    from redis.asyncio import Redis

    # The timeouts bound each command; a subscription's blocking read is not one.
    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=2, client_name=client_name()
    )
