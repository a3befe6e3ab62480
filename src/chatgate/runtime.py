"""What a running app holds: the database, the keyring and the shared HTTP pool.

Built by create_app, started and stopped by the app's lifespan; nothing is
created at import time.
"""

from __future__ import annotations

import aiohttp

from chatgate.crypto import Keyring, load_secret
from chatgate.db.engine import make_engine
from chatgate.db.queries import Database
from chatgate.identities import IdentityCache
from chatgate.limits import Limiter, make_limiter
from chatgate.metrics import Metrics
from chatgate.providers.chat import ProviderOptions
from chatgate.providers.upstream import UpstreamPolicy, new_session
from chatgate.settings import Settings
from chatgate.usage import Usage


def make_keyring(settings: Settings) -> Keyring:
    """Seals with the current secret; also opens what older secrets sealed."""
    current = load_secret(settings.secret_key, settings.data_dir)
    return Keyring([current, *settings.previous_secret_keys])


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = UpstreamPolicy(
            connect_timeout=settings.upstream_connect_timeout,
            first_byte_timeout=settings.upstream_first_byte_timeout,
            idle_timeout=settings.upstream_idle_timeout,
            max_retries=settings.upstream_max_retries,
        )
        self.metrics = Metrics()
        self.identities = IdentityCache(
            ttl=settings.identity_cache_seconds, redis_url=settings.redis_url
        )
        self.base_urls = settings.base_urls
        self.provider_options = ProviderOptions(
            anthropic_version=settings.anthropic_version,
            azure_api_version=settings.azure_api_version,
            azure_deployments=settings.azure_deployments,
        )
        self._db: Database | None = None
        self._http: aiohttp.ClientSession | None = None
        self._keyring: Keyring | None = None
        self._limiter: Limiter | None = None
        self._usage: Usage | None = None

    @property
    def db(self) -> Database:
        assert self._db is not None, "the app has not started"
        return self._db

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None, "the app has not started"
        return self._http

    @property
    def keyring(self) -> Keyring:
        assert self._keyring is not None, "the app has not started"
        return self._keyring

    @property
    def limiter(self) -> Limiter:
        assert self._limiter is not None, "the app has not started"
        return self._limiter

    @property
    def usage(self) -> Usage:
        assert self._usage is not None, "the app has not started"
        return self._usage

    async def start(self) -> None:
        settings = self.settings
        self._keyring = make_keyring(settings)
        self._db = Database(make_engine(settings.effective_database_url))
        self._http = new_session()
        self._usage = Usage(settings=settings, db=self._db, metrics=self.metrics)
        self._usage.start()
        await self.identities.start()
        self._limiter = make_limiter(
            redis_url=settings.redis_url,
            per_minute=settings.rate_limit_per_minute,
            max_streams=settings.max_streams_per_user,
        )

    async def stop(self) -> None:
        if self._usage is not None:
            await self._usage.stop()
        await self.identities.close()
        if self._limiter is not None:
            await self._limiter.close()
        if self._http is not None:
            await self._http.close()
        if self._db is not None:
            await self._db.close()
