from __future__ import annotations

import pytest
from pydantic import SecretStr

from chatgate.db.queries import TokenOwner
from chatgate.errors import NotAuthenticated
from chatgate.identities import Identity, IdentityCache
from chatgate.profiles import ServerProfile


class Loads:
    """A loader that counts how often the database would have been asked."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, token: str) -> Identity:
        self.calls += 1
        if token == "cg_unknown":
            raise NotAuthenticated("Invalid or revoked access token")
        user_id = 1 if token.startswith("cg_a") else 2
        owner = TokenOwner(
            token_id=user_id, user_id=user_id, username=f"u{user_id}", last_used_at=None
        )
        profile = ServerProfile(
            user_id=user_id, values={"openai_api_key": SecretStr(f"sk-{self.calls}")}
        )
        return Identity(owner=owner, profile=profile)


async def test_a_token_is_looked_up_once_while_fresh() -> None:
    cache, load = IdentityCache(ttl=60, redis_url=None), Loads()
    first = await cache.resolve("cg_a1", load)
    again = await cache.resolve("cg_a1", load)
    assert again is first
    assert load.calls == 1


async def test_a_change_to_the_user_is_seen_on_the_next_request() -> None:
    cache, load = IdentityCache(ttl=60, redis_url=None), Loads()
    await cache.resolve("cg_a1", load)
    await cache.resolve("cg_a2", load)
    await cache.resolve("cg_b1", load)
    await cache.user_changed(1)
    refreshed = await cache.resolve("cg_a1", load)
    assert refreshed.profile.values["openai_api_key"].get_secret_value() == "sk-4"
    await cache.resolve("cg_b1", load)  # the other user stays cached
    assert load.calls == 4


async def test_entries_expire_and_failures_are_not_cached() -> None:
    cache, load = IdentityCache(ttl=0, redis_url=None), Loads()
    await cache.resolve("cg_a1", load)
    await cache.resolve("cg_a1", load)
    assert load.calls == 2
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            await cache.resolve("cg_unknown", load)
    assert load.calls == 4
