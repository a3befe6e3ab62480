"""The chat use case in-process, against the fake upstream on loopback in the
test's own event loop: no HTTP in front of chatgate, real HTTP behind it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chatgate.app import create_app
from chatgate.auth import hash_token, make_token
from chatgate.chat import answer
from chatgate.custom_models import CustomModelFields, create_custom_model
from chatgate.db.migrate import migrate
from chatgate.errors import ApiKeyIncorrect, ApiKeyNotFound, StoredKeyUnreadable
from chatgate.fake.answer import REQUESTS, reply_pieces
from chatgate.fake.app import create_fake_app
from chatgate.identities import Identity
from chatgate.profiles import update_profile
from chatgate.providers import PROVIDERS
from chatgate.providers.chat import ChatRequest
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from chatgate.upstream import new_session
from chatgate.web.credentials import Credentials
from tests.api.conftest import new_user

FULL_ANSWER = "".join(reply_pieces(12))
HELLO = ChatRequest(
    model="gpt-4o", temperature=0.5, messages=[{"role": "user", "content": "Hello"}]
)
BY_NAME = {provider.name: provider for provider in PROVIDERS}


@pytest.fixture
async def fake() -> AsyncIterator[TestServer]:
    server = TestServer(create_fake_app())
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def fake_settings(tmp_path: Path, fake: TestServer) -> Settings:
    root = str(fake.make_url("")).rstrip("/")
    return Settings(
        data_dir=tmp_path, openai_base_url=root + "/v1", anthropic_base_url=root, redis_url=None
    )


class Sessions:
    """The session factory handed to chatgate, remembering what it made."""

    def __init__(self) -> None:
        self.made: list[aiohttp.ClientSession] = []

    def __call__(self) -> aiohttp.ClientSession:
        session = new_session()
        self.made.append(session)
        return session


@pytest.fixture
async def runtime(fake_settings: Settings) -> AsyncIterator[Runtime]:
    running = Runtime(fake_settings, new_http=Sessions())
    await running.start()
    await migrate(running.db.engine)
    yield running
    await running.stop()


async def signed_in(runtime: Runtime, name: str, **profile: str) -> Identity:
    user = await runtime.db.create_user(username=name)
    if profile:
        await update_profile(
            db=runtime.db, keyring=runtime.keyring, user_id=user.id, changes=profile
        )
    token = await token_for(runtime, user.id)
    return await Credentials(runtime).for_token(token)


async def token_for(runtime: Runtime, user_id: int) -> str:
    token = make_token()
    await runtime.db.create_token(user_id=user_id, token_hash=hash_token(token), label="")
    return token


async def text_of(pieces: AsyncGenerator[str, None]) -> str:
    return "".join([piece async for piece in pieces])


def last_upstream_request(fake: TestServer) -> dict[str, Any]:
    app: web.Application = fake.app
    return app[REQUESTS][-1]


async def test_the_answer_comes_with_the_callers_own_key(
    runtime: Runtime, fake: TestServer
) -> None:
    alice = await signed_in(runtime, "alice", openai_api_key="sk-alice-0901")
    pieces = await answer(runtime, identity=alice, provider=BY_NAME["openai"], chat=HELLO)
    assert await text_of(pieces) == FULL_ANSWER
    sent = last_upstream_request(fake)
    assert sent["headers"]["Authorization"] == "Bearer sk-alice-0901"
    assert sent["body"]["messages"] == [{"role": "user", "content": "Hello"}]


async def test_another_wire_format_gives_the_same_text(runtime: Runtime, fake: TestServer) -> None:
    bob = await signed_in(runtime, "bob", anthropic_api_key="sk-ant-bob-0902")
    chat = ChatRequest(
        model="claude-3-5-sonnet-20241022",
        temperature=None,
        messages=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}],
    )
    pieces = await answer(runtime, identity=bob, provider=BY_NAME["anthropic"], chat=chat)
    assert await text_of(pieces) == FULL_ANSWER
    sent = last_upstream_request(fake)
    assert sent["headers"]["x-api-key"] == "sk-ant-bob-0902"
    assert sent["body"]["system"] == "Be brief"


async def test_no_key_is_refused_before_any_upstream_call(
    runtime: Runtime, fake: TestServer
) -> None:
    carol = await signed_in(runtime, "carol")
    with pytest.raises(ApiKeyNotFound, match="OpenAI API Key not found"):
        await answer(runtime, identity=carol, provider=BY_NAME["openai"], chat=HELLO)
    assert not fake.app[REQUESTS]


async def test_a_refused_key_fails_before_the_first_piece(runtime: Runtime) -> None:
    dave = await signed_in(runtime, "dave", openai_api_key="sk-bad")
    pieces = await answer(runtime, identity=dave, provider=BY_NAME["openai"], chat=HELLO)
    with pytest.raises(ApiKeyIncorrect):
        await pieces.__anext__()


async def test_a_custom_model_is_asked_for_its_own_model_id(
    runtime: Runtime, fake: TestServer
) -> None:
    erin = await signed_in(runtime, "erin")
    model = await create_custom_model(
        db=runtime.db,
        keyring=runtime.keyring,
        user_id=erin.owner.user_id,
        fields=CustomModelFields(
            name="Local",
            base_url=str(fake.make_url("/local/v1")),
            model_id="llama3.1:8b",
            context_length=8192,
        ),
    )
    chat = ChatRequest(
        model="anything", temperature=None, messages=HELLO.messages, custom_model_id=model.id
    )
    pieces = await answer(runtime, identity=erin, provider=BY_NAME["custom"], chat=chat)
    assert await text_of(pieces) == FULL_ANSWER
    sent = last_upstream_request(fake)
    assert sent["body"]["model"] == "llama3.1:8b"
    assert "Authorization" not in sent["headers"]


async def test_a_key_that_no_longer_opens_asks_to_enter_it_again(runtime: Runtime) -> None:
    user = await runtime.db.create_user(username="frank")
    await runtime.db.update_profile(user_id=user.id, sealed={"openai_api_key": "cg1.0000.AAAA"})
    frank = await Credentials(runtime).for_token(await token_for(runtime, user.id))
    assert frank.owner.username == "frank"  # still signed in: other routes keep working
    with pytest.raises(StoredKeyUnreadable):
        await answer(runtime, identity=frank, provider=BY_NAME["openai"], chat=HELLO)


async def test_upstream_requests_go_through_the_injected_session(
    fake_settings: Settings,
) -> None:
    sessions = Sessions()
    runtime = Runtime(fake_settings, new_http=sessions)
    await runtime.start()
    assert runtime.http is sessions.made[0]
    await runtime.stop()
    assert sessions.made[0].closed


async def test_the_app_serves_the_use_case_with_the_injected_session(
    fake_settings: Settings, fake: TestServer
) -> None:
    sessions = Sessions()
    app = create_app(fake_settings, http=sessions)
    async with app.router.lifespan_context(app):
        _, token = await new_user(app, "grace")
        auth = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as client:
            saved = await client.patch("/api/profile", json={"openai_api_key": "sk-grace-0903"})
            assert saved.status_code == 401
            saved = await client.patch(
                "/api/profile", json={"openai_api_key": "sk-grace-0903"}, headers=auth
            )
            assert saved.status_code == 200
            body = {"chatSettings": {"model": "gpt-4o"}, "messages": HELLO.messages}
            chat = await client.post("/api/chat/openai", json=body, headers=auth)
    assert chat.status_code == 200
    assert chat.text == FULL_ANSWER
    assert len(sessions.made) == 1
    assert last_upstream_request(fake)["headers"]["Authorization"] == "Bearer sk-grace-0903"
