"""The app in-process: create_app(settings) behind httpx's ASGI transport, and the
fake upstream (chatgate.fake) on a loopback port of the same event loop.

Every import of chatgate's internals that the in-process tests need is here.

httpx's ASGI transport buffers the whole response: these tests show what goes
upstream, what comes back and every error, never how an answer is paced (that
is for tests/e2e, against a real server).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web_protocol import RequestHandler
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatgate.app import create_app
from chatgate.auth import hash_token, make_token
from chatgate.fake import create_fake_app
from chatgate.logs import JsonFormatter
from chatgate.profile_fields import FIELDS_BY_NAME
from chatgate.profiles import update_profile
from chatgate.runtime import Runtime
from chatgate.settings import Settings
from tests.chatbot_ui_database import ADD_GROQ, SCHEMA, database

MIB = 1024 * 1024
CHAT_PATH = "/api/chat/openai"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, openai_base_url="http://127.0.0.1:9/v1")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chatgate") as http:
        yield http


async def new_user(app: FastAPI, name: str = "alice") -> tuple[int, str]:
    """A user and its bearer token, made straight in the database."""
    runtime: Runtime = app.state.runtime
    user = await runtime.db.create_user(username=name)
    token = make_token()
    await runtime.db.create_token(user_id=user.id, token_hash=hash_token(token), label="")
    return user.id, token


# The fake upstream -------------------------------------------------------------------


@dataclass
class FakeUpstream:
    """chatgate.fake on loopback, and what it has seen (its /_fake pages)."""

    root: str
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        """What OPENAI_BASE_URL points at."""
        return self.root + "/v1"

    async def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self.http.get("/_fake/requests")).json()
        return result

    async def last_request(self) -> dict[str, Any]:
        return (await self.requests())[-1]

    async def clear(self) -> None:
        await self.http.delete("/_fake/requests")

    async def stats(self) -> dict[str, int]:
        result: dict[str, int] = (await self.http.get("/_fake/stats")).json()
        return result


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    server = TestServer(create_fake_app(), host="127.0.0.1")
    # A stalled answer (stall_after=) would otherwise hold the shutdown for a minute.
    await server.start_server(shutdown_timeout=1)
    try:
        root = str(server.make_url("")).rstrip("/")
        async with httpx.AsyncClient(base_url=root, timeout=30) as http:
            yield FakeUpstream(root=root, http=http)
    finally:
        await server.close()


# Answers cut off mid-stream ------------------------------------------------------------


class CutOffWatch:
    """Ends a response the app left unfinished (an answer cut off mid-stream) and
    remembers its request id. A real server closes the connection instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cut_off: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = ""
        finished = False

        async def watch(message: Message) -> None:
            nonlocal request_id, finished
            if message["type"] == "http.response.start":
                request_id = dict(message["headers"]).get(b"x-request-id", b"").decode()
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        await self.app(scope, receive, watch)
        if scope["type"] == "http" and request_id and not finished:
            self.cut_off.add(request_id)
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class BrokenBody(httpx.AsyncByteStream):
    """What arrived, then the error httpx raises when a server hangs up mid-body."""

    def __init__(self, received: bytes) -> None:
        self.received = received

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.received
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


class InProcessTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport, except that an answer cut off mid-stream reaches the
    client as it does from a real server: its text, then RemoteProtocolError."""

    def __init__(self, app: ASGIApp) -> None:
        self.watch = CutOffWatch(app)
        self.asgi = httpx.ASGITransport(app=self.watch)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.asgi.handle_async_request(request)
        if response.headers.get("x-request-id") not in self.watch.cut_off:
            return response
        received = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, stream=BrokenBody(received)
        )


# Log lines, as a server process writes them ---------------------------------------------


class LogLines(logging.Handler):
    """Every record, formatted as `chatgate serve` writes it to its log."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @asynccontextmanager
    async def capturing(self) -> AsyncIterator[None]:
        root = logging.getLogger()
        level = root.level
        root.addHandler(self)
        root.setLevel(logging.INFO)  # what `chatgate serve` logs by default
        try:
            yield
        finally:
            root.removeHandler(self)
            root.setLevel(level)


# The app in-process, pointed at the fake ---------------------------------------------------


@dataclass
class Gate:
    """chatgate in-process: a client for its HTTP API, and the makings of a test."""

    app: FastAPI
    client: httpx.AsyncClient
    upstream: FakeUpstream
    log: LogLines
    secrets_used: set[str] = field(default_factory=set)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def create_user(
        self, *, openai_key: str | None = None, org: str | None = None, **fields: str
    ) -> str:
        """A new user with a unique name, an access token and the given profile fields."""
        token = make_token()
        self.secrets_used.add(token)
        changes = {"openai_api_key": openai_key, "openai_organization_id": org, **fields}
        self.secrets_used.update(
            value for name, value in changes.items() if value and FIELDS_BY_NAME[name].secret
        )
        db = self.runtime.db
        user = await db.create_user(username="u" + secrets.token_hex(6))
        await db.create_token(user_id=user.id, token_hash=hash_token(token), label="test")
        await update_profile(
            db=db,
            keyring=self.runtime.keyring,
            user_id=user.id,
            changes={k: v for k, v in changes.items() if v},
        )
        return token

    async def create_custom_model(self, token: str, **fields: Any) -> dict[str, Any]:
        """A custom model made through the API, as the front end makes one."""
        body = {"name": "Local", "model_id": "fake-local-model", "context_length": 4096, **fields}
        if body.get("api_key"):
            self.secrets_used.add(body["api_key"])
        response = await self.client.post("/api/models", json=body, headers=auth(token))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def tasks(self) -> int:
        """What chatgate_event_loop_tasks counts in a server process: the event
        loop's tasks, less the fake's (one a connection, kept alive)."""
        fake_connection = RequestHandler.start.__code__
        return sum(
            getattr(task.get_coro(), "cr_code", None) is not fake_connection
            for task in asyncio.all_tasks()
        )

    async def metric(self, name: str) -> float:
        text = (await self.client.get("/metrics")).text
        found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
        assert found, f"{name} missing from /metrics"
        return float(found.group(1))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat_body(content: str = "Hello", model: str = "gpt-4o", **settings: Any) -> dict[str, Any]:
    return {
        "chatSettings": {"model": model, "temperature": 0.5, **settings},
        "messages": [{"role": "user", "content": content}],
    }


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 1.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def gate_settings(tmp: Path, upstream: FakeUpstream, **changes: Any) -> Settings:
    """The settings tests/e2e gives `chatgate serve`: every provider at the fake."""
    fields: dict[str, Any] = {
        "data_dir": tmp,
        "database_url": f"sqlite:///{tmp / 'chatgate.db'}",
        "max_body_bytes": 2 * MIB,
        "upstream_max_retries": 2,
        # The fake serves every provider: each at its own path under one root.
        "openai_base_url": upstream.url,
        "anthropic_base_url": upstream.root,
        "google_base_url": upstream.root,
        "mistral_base_url": upstream.url,
        "groq_base_url": upstream.url,
        "perplexity_base_url": upstream.url,
        "openrouter_base_url": upstream.url,
        "azure_deployments": {"gpt-4o": "team-4o"},
    }
    return Settings(**(fields | changes))


@asynccontextmanager
async def serving(settings: Settings, upstream: FakeUpstream) -> AsyncIterator[Gate]:
    """The app with its lifespan running; when the block ends, its log is checked
    for every token and key the test gave it."""
    app = create_app(settings)
    log = LogLines()
    async with log.capturing(), app.router.lifespan_context(app):
        transport = InProcessTransport(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://chatgate", timeout=30
        ) as client:
            gate = Gate(app=app, client=client, upstream=upstream, log=log)
            yield gate
    written = "\n".join(log.lines)
    leaked = sorted(secret for secret in gate.secrets_used if secret in written)
    assert not leaked, f"secrets in the log: {leaked}"


OpenGate = Callable[..., AbstractAsyncContextManager[Gate]]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with every migration applied, copied for each app: applying
    them takes longer than most tests."""
    tmp = tmp_path_factory.mktemp("migrated")
    app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'chatgate.db'}"))

    async def migrate() -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(migrate())
    return tmp / "chatgate.db"


@pytest.fixture
def open_gate(tmp_path: Path, upstream: FakeUpstream, migrated_database: Path) -> OpenGate:
    """Opens the app with settings changed from gate_settings:
    ``async with open_gate(rate_limit_per_minute=3) as gate: ...``"""

    def open_with(**changes: Any) -> AbstractAsyncContextManager[Gate]:
        tmp = tmp_path / secrets.token_hex(4)
        tmp.mkdir()
        shutil.copy(migrated_database, tmp / "chatgate.db")
        settings = gate_settings(tmp, upstream, migrate_on_start=False, **changes)
        return serving(settings, upstream)

    return open_with


@pytest.fixture
async def gate(open_gate: OpenGate) -> AsyncIterator[Gate]:
    async with open_gate() as opened:
        yield opened


def provider_env(keys: Mapping[str, str]) -> dict[str, SecretStr]:
    """Server-wide provider keys (OPENAI_API_KEY and friends), as Settings holds them."""
    return {name: SecretStr(value) for name, value in keys.items()}


# Chatbot UI's own tables in a throwaway PostgreSQL database, one per test module.
@pytest.fixture(scope="module")
def current_schema() -> Iterator[str]:
    yield from database(SCHEMA, ADD_GROQ)


@pytest.fixture(scope="module")
def schema_without_groq() -> Iterator[str]:
    yield from database(SCHEMA)
