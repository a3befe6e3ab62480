"""What a running app holds: the database, the keyring, the shared HTTP pool and,
when configured, the one Redis client.

Built by create_app, started and stopped by the app's lifespan; nothing is
created at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp

from chatgate.crypto import Keyring
from chatgate.db.engine import make_engine
from chatgate.db.queries import Database
from chatgate.identities import IdentityCache
from chatgate.limits import Limiter, make_limiter
from chatgate.metrics import Metrics
from chatgate.providers.chat import ProviderOptions
from chatgate.redis_client import connect_redis
from chatgate.secret import make_keyring
from chatgate.settings import Settings
from chatgate.supabase.chatbot_ui_store import ChatbotUiStore
from chatgate.supabase.sign_in import SupabaseSignIn
from chatgate.upstream import DestinationPolicy, UpstreamPolicy, new_session
from chatgate.usage import Usage

if TYPE_CHECKING:
    from redis.asyncio import Redis


def destination_policy(settings: Settings) -> DestinationPolicy:
    """Where users' own upstreams may go; the operator's provider URLs are never checked."""
    operator_urls = list(settings.base_urls.values())
    if settings.session_jwks_url:  # the identity provider's signing keys
        operator_urls.append(settings.session_jwks_url)
    azure_endpoint = settings.provider_env.get("AZURE_OPENAI_ENDPOINT")
    if azure_endpoint is not None:
        operator_urls.append(azure_endpoint.get_secret_value())
    return DestinationPolicy.build(
        deny_private=settings.private_upstreams_denied,
        allowed=settings.allowed_upstream_hosts,
        operator_urls=operator_urls,
    )


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        new_http: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self.settings = settings
        self._new_http = new_http  # a test's own session (to a fake upstream) instead
        self.policy = UpstreamPolicy(
            connect_timeout=settings.upstream_connect_timeout,
            first_byte_timeout=settings.upstream_first_byte_timeout,
            idle_timeout=settings.upstream_idle_timeout,
            max_retries=settings.upstream_max_retries,
        )
        self.metrics = Metrics()
        # One client for the limits, the identity feed and the usage counters (how
        # each meets a Redis failure: see chatgate.redis_client); the connections open on first use.
        self._redis: Redis | None = (
            connect_redis(settings.redis_url) if settings.redis_url else None
        )
        self.identities = IdentityCache(ttl=settings.identity_cache_seconds, redis=self._redis)
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
        # Sign-in through Supabase (built at start: it fetches keys with the shared
        # session) and Chatbot UI's own tables, when configured.
        self.sign_in: SupabaseSignIn | None = None
        self.chatbot_ui = ChatbotUiStore.from_settings(settings)

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
        self._http = (
            self._new_http() if self._new_http else new_session(destination_policy(settings))
        )
        self._usage = Usage(settings=settings, db=self._db, metrics=self.metrics, redis=self._redis)
        self._usage.start()
        self.sign_in = SupabaseSignIn.from_settings(settings, http=self._http)
        if self.chatbot_ui is not None:
            await self.chatbot_ui.start()
        await self.identities.start()
        self._limiter = make_limiter(
            redis=self._redis,
            per_minute=settings.rate_limit_per_minute,
            max_streams=settings.max_streams_per_user,
        )

    async def stop(self) -> None:
        if self._usage is not None:
            await self._usage.stop()
        await self.identities.close()
        if self._limiter is not None:
            await self._limiter.close()
        if self.chatbot_ui is not None:
            await self.chatbot_ui.close()
        if self._http is not None:
            await self._http.close()
        if self._db is not None:
            await self._db.close()
        if self._redis is not None:
            await self._redis.aclose()
