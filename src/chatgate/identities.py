"""Who a credential belongs to and what their profile holds, cached for a moment.

Every chat request needs both; without this cache each one costs two queries,
more CPU than relaying the whole answer. Entries live
``CHATGATE_IDENTITY_CACHE_SECONDS`` at most, and a profile change or a token
revocation drops the user's entries at once: on this instance directly, and on
every other instance through Redis when ``CHATGATE_REDIS_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from chatgate.auth import hash_token
from chatgate.db.queries import TokenOwner
from chatgate.profiles import ServerProfile
from chatgate.redis_client import connect_redis

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL = "chatgate:identity-changed"
MAX_ENTRIES = 50_000
# The share of an entry's life at its end during which a request that finds it
# starts loading it again (and is answered from it meanwhile).
REFRESH_AHEAD = 0.25


@dataclass(frozen=True, slots=True)
class Identity:
    owner: TokenOwner
    profile: ServerProfile
    # When the credential stops being valid (a session token's exp, in seconds since
    # the epoch): no cache keeps the identity past it. None: no end of its own.
    expires_at: float | None = None


Loader = Callable[[str], Awaitable[Identity]]


class IdentityCache:
    def __init__(self, *, ttl: float, redis: Redis | None) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Identity]] = {}
        # Loads under way, by token hash: a burst of requests with one token waits
        # for one database read instead of each making its own.
        self._loading: dict[str, asyncio.Future[Identity]] = {}
        # Bumped by every forget: a load that started before it must not store its result.
        self._generation = 0
        self._redis = redis  # the runtime's, closed by it
        self._listener: asyncio.Task[None] | None = None

    async def resolve(self, token: str, load: Loader) -> Identity:
        """The token's identity, from the cache or from ``load`` (which raises when
        the token is unknown: failures are never cached)."""
        key = hash_token(token)
        cached = self._entries.get(key)
        if cached is not None:
            left = cached[0] - time.monotonic()
            if left > 0:
                # In its last stretch, the entry is loaded again in the background
                # while it still answers: a steady caller never waits for the
                # database, and no entry is served past its time.
                if left < self.ttl * REFRESH_AHEAD and key not in self._loading:
                    self._start_load(key, token, load)
                return cached[1]
        loading = self._loading.get(key) or self._start_load(key, token, load)
        # Shielded: one waiter going away (its client left) must not cancel the others' load.
        return await asyncio.shield(loading)

    def _start_load(self, key: str, token: str, load: Loader) -> asyncio.Future[Identity]:
        loading = asyncio.ensure_future(self._load(key, token, load, self._generation))
        self._loading[key] = loading
        loading.add_done_callback(partial(self._loaded, key))
        return loading

    async def _load(self, key: str, token: str, load: Loader, generation: int) -> Identity:
        identity = await load(token)
        ttl = self.ttl
        if identity.expires_at is not None:
            ttl = min(ttl, identity.expires_at - time.time())
        if ttl > 0 and generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()  # crude, but bounded; entries are cheap to reload
            self._entries[key] = (time.monotonic() + ttl, identity)
        return identity

    def _loaded(self, key: str, done: asyncio.Future[Identity]) -> None:
        if self._loading.get(key) is done:  # not already dropped by a forget
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # retrieved here too, for when every waiter has gone

    def forget_user(self, user_id: int) -> None:
        self._generation += 1
        # A lookup under way may have read the state from before the change (a token
        # just revoked): requests from now on start their own instead of joining it.
        # Whose token each lookup is for is known only once it ends, so all are dropped.
        self._loading.clear()
        stale = [k for k, (_, ident) in self._entries.items() if ident.owner.user_id == user_id]
        for key in stale:
            del self._entries[key]

    async def user_changed(self, user_id: int) -> None:
        """Forget the user here and tell the other instances to do the same."""
        self.forget_user(user_id)
        await publish_change(self._redis, user_id)

    async def start(self) -> None:
        if self._redis is not None:
            self._listener = asyncio.create_task(self._listen(self._redis))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen(self, redis: Redis) -> None:
        from redis.exceptions import RedisError

        while True:
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.forget_user(int(message["data"]))
            except (RedisError, OSError, ValueError) as exc:
                # Until the subscription is back, entries still expire by themselves.
                log.warning("identity change feed interrupted: %s", type(exc).__name__)
                self._entries.clear()
                await asyncio.sleep(1)


async def announce_change(redis_url: str | None, user_id: int) -> None:
    """Tell every running instance that the user changed (from outside them: the CLI)."""
    if redis_url:
        redis = connect_redis(redis_url)
        try:
            await publish_change(redis, user_id)
        finally:
            await redis.aclose()


async def publish_change(redis: Redis | None, user_id: int) -> None:
    if redis is None:
        return
    from redis.exceptions import RedisError

    try:
        await redis.publish(CHANNEL, str(user_id))
    except RedisError as exc:
        log.warning("could not announce a change of user %s: %s", user_id, type(exc).__name__)
