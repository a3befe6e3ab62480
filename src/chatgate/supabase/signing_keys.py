"""The public keys a Supabase project signs its access tokens with (its JWKS), cached.

The set is fetched with the shared aiohttp session, kept ``ttl`` seconds, and
fetched again early when a token names a key it does not hold (a rotation), at
most once every ``refetch_interval`` seconds. One fetch at a time: a burst of
requests with a new key waits for the same fetch. When the set cannot be
fetched, keys already held keep working; a token needing any other key is
answered 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from jwt import PyJWK, PyJWTError

from chatgate.errors import SigningKeysUnavailable

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)


class UnknownSigningKey(LookupError):
    """The set, freshly fetched or not fetchable again yet, has no key of that id."""


class SigningKeys:
    def __init__(
        self,
        *,
        url: str,
        http: aiohttp.ClientSession,
        ttl: float = 600.0,
        refetch_interval: float = 30.0,
        retry_after_failure: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._http = http
        self._ttl = ttl
        self._refetch_interval = refetch_interval
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # of the set held
        self._attempted_at: float | None = None
        self._failed = False  # the last attempt
        self._fetching: asyncio.Future[None] | None = None

    async def key(self, kid: str) -> PyJWK:
        """The key with this id; raises UnknownSigningKey, or SigningKeysUnavailable when
        the set cannot be fetched and the key is not held."""
        held = self._keys.get(kid)
        fresh = self._fetched_at is not None and self._clock() - self._fetched_at < self._ttl
        if held is not None and fresh:
            return held
        if self._may_fetch(fresh=fresh):
            await self._fetch_once()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._failed:
            raise SigningKeysUnavailable()
        raise UnknownSigningKey(kid)

    def _may_fetch(self, *, fresh: bool) -> bool:
        if self._attempted_at is None or self._fetching is not None:
            return True
        since = self._clock() - self._attempted_at
        if self._failed:
            return since >= self._retry_after_failure
        return not fresh or since >= self._refetch_interval

    async def _fetch_once(self) -> None:
        if self._fetching is None:
            self._attempted_at = self._clock()
            self._fetching = asyncio.ensure_future(self._fetch())
            self._fetching.add_done_callback(self._fetched)
        # Shielded: one waiter going away must not cancel the fetch the others wait for.
        await asyncio.shield(self._fetching)

    def _fetched(self, done: asyncio.Future[None]) -> None:
        self._fetching = None
        if not done.cancelled():
            done.exception()  # retrieved here too, for when every waiter has gone

    async def _fetch(self) -> None:
        try:
            async with self._http.get(self.url, timeout=FETCH_TIMEOUT) as response:
                if response.status != 200:
                    raise ValueError(f"status {response.status}")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise ValueError("larger than the limit")
            keys = usable_keys(orjson.loads(body))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self._failed = True
            log.warning("signing keys could not be fetched from %s: %s", self.url, exc)
            return
        self._failed = False
        self._keys = keys
        self._fetched_at = self._clock()
        log.info("signing keys fetched from %s: %s", self.url, ", ".join(sorted(keys)) or "none")


def usable_keys(jwks: Any) -> dict[str, PyJWK]:
    """The set's signing keys by id; a key without an id, or one PyJWT cannot use, is
    skipped. Raises ValueError when the document is not a JWKS."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, PyJWK] = {}
    for entry in jwks["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = PyJWK(entry)
        except PyJWTError as exc:
            log.info("signing key %s skipped: %s", entry["kid"], exc)
    return keys
