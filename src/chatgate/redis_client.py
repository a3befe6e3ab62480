"""The one Redis client of a process, when CHATGATE_REDIS_URL is set.

Imported only then (the client weighs 15 MB of imports), built once by the
runtime and shared by the limits, the identity feed and the usage counters.

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


# Connections one process opens to Redis at most. Commands take well under a
# millisecond, so a burst of a thousand new answers waits its turn for one of
# these rather than opening a thousand connections at once, which overflows
# Redis's accept queue and times out as "Redis is unavailable".
MAX_CONNECTIONS = 64
# How long a command waits for a free connection before it counts as a failure.
POOL_TIMEOUT_S = 10.0


def connect_redis(url: str) -> Redis:
    from redis.asyncio import BlockingConnectionPool, Redis

    # The timeouts bound each command; a subscription's blocking read is not one.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_TIMEOUT_S,
        socket_connect_timeout=2,
        socket_timeout=2,
        client_name=client_name(),
    )
    return Redis.from_pool(pool)  # closing the client closes its pool too
