from __future__ import annotations

import asyncio

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
    cache, load = IdentityCache(ttl=60, redis=None), Loads()
    first = await cache.resolve("cg_a1", load)
    again = await cache.resolve("cg_a1", load)
    assert again is first
    assert load.calls == 1


async def test_a_change_to_the_user_is_seen_on_the_next_request() -> None:
    cache, load = IdentityCache(ttl=60, redis=None), Loads()
    await cache.resolve("cg_a1", load)
    await cache.resolve("cg_a2", load)
    await cache.resolve("cg_b1", load)
    await cache.user_changed(1)
    refreshed = await cache.resolve("cg_a1", load)
    assert refreshed.profile is not None
    assert refreshed.profile.values["openai_api_key"].get_secret_value() == "sk-4"
    await cache.resolve("cg_b1", load)  # the other user stays cached
    assert load.calls == 4


async def test_entries_expire_and_failures_are_not_cached() -> None:
    cache, load = IdentityCache(ttl=0, redis=None), Loads()
    await cache.resolve("cg_a1", load)
    await cache.resolve("cg_a1", load)
    assert load.calls == 2
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            await cache.resolve("cg_unknown", load)
    assert load.calls == 4


class SlowLoads(Loads):
    """A loader that waits until released, to hold several requests in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def __call__(self, token: str) -> Identity:
        await self.release.wait()
        return await super().__call__(token)


async def test_a_burst_with_one_token_waits_for_one_lookup() -> None:
    cache, load = IdentityCache(ttl=60, redis=None), SlowLoads()
    burst = [asyncio.create_task(cache.resolve("cg_a1", load)) for _ in range(50)]
    await asyncio.sleep(0)
    load.release.set()
    identities = await asyncio.gather(*burst)
    assert load.calls == 1
    assert all(identity is identities[0] for identity in identities)


async def test_one_waiter_leaving_does_not_cancel_the_others() -> None:
    cache, load = IdentityCache(ttl=60, redis=None), SlowLoads()
    leaving = asyncio.create_task(cache.resolve("cg_a1", load))
    staying = asyncio.create_task(cache.resolve("cg_a1", load))
    await asyncio.sleep(0)
    leaving.cancel()
    load.release.set()
    assert (await staying).owner.user_id == 1
    assert leaving.cancelled()


async def test_a_change_during_a_lookup_is_not_overwritten_by_it() -> None:
    cache, load = IdentityCache(ttl=60, redis=None), SlowLoads()
    first = asyncio.create_task(cache.resolve("cg_a1", load))
    await asyncio.sleep(0)
    await cache.user_changed(1)  # e.g. the key was replaced while the old one was being read
    load.release.set()
    await first
    await cache.resolve("cg_a1", load)
    assert load.calls == 2  # the stale result was not kept


async def test_a_failed_lookup_reaches_every_waiter() -> None:
    cache, load = IdentityCache(ttl=60, redis=None), SlowLoads()
    burst = [asyncio.create_task(cache.resolve("cg_unknown", load)) for _ in range(3)]
    await asyncio.sleep(0)
    load.release.set()
    results = await asyncio.gather(*burst, return_exceptions=True)
    assert all(isinstance(result, NotAuthenticated) for result in results)
    assert load.calls == 1


class RevocableLoads(SlowLoads):
    """A loader reading a token table that a revoke can change while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.revoked: set[str] = set()
        self.reading = asyncio.Event()

    async def __call__(self, token: str) -> Identity:
        revoked = token in self.revoked  # read when the lookup starts, as a query would
        self.reading.set()
        await self.release.wait()
        if revoked:
            self.calls += 1
            raise NotAuthenticated("Invalid or revoked access token")
        return await Loads.__call__(self, token)


async def test_a_request_after_a_revoke_does_not_join_the_lookup_from_before_it() -> None:
    cache, load = IdentityCache(ttl=60, redis=None), RevocableLoads()
    before = asyncio.create_task(cache.resolve("cg_a1", load))
    await load.reading.wait()  # its lookup has read the token as valid, and waits
    load.revoked.add("cg_a1")
    await cache.user_changed(1)  # the revoke's 204
    after = asyncio.create_task(cache.resolve("cg_a1", load))
    await asyncio.sleep(0.01)
    load.release.set()
    assert (await before).owner.user_id == 1  # it asked before the revoke
    with pytest.raises(NotAuthenticated):
        await after
    with pytest.raises(NotAuthenticated):  # and the stale result was not stored either
        await cache.resolve("cg_a1", load)
    assert load.calls == 3


async def test_an_entry_near_its_end_answers_while_it_is_loaded_again() -> None:
    # Generous times: a busy machine may wake the test late by a few tenths of a second.
    cache, load = IdentityCache(ttl=2.0, redis=None), SlowLoads()
    load.release.set()
    first = await cache.resolve("cg_a1", load)
    await asyncio.sleep(1.6)  # in the entry's last quarter
    load.release.clear()  # the database is slow now
    async with asyncio.timeout(0.3):  # the load is held: waiting for it would time out
        assert await cache.resolve("cg_a1", load) is first
    assert load.calls == 1  # the load is under way...
    load.release.set()
    await asyncio.sleep(0.01)
    assert load.calls == 2  # ...and done:
    renewed = await cache.resolve("cg_a1", load)
    assert renewed is not first
    assert renewed.profile.values["openai_api_key"].get_secret_value() == "sk-2"
    await asyncio.sleep(0.6)  # past the first entry's end, within the renewed one's
    assert await cache.resolve("cg_a1", load) is renewed
    assert load.calls == 2
