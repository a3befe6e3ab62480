"""Real processes on loopback: `chatgate fake-openai` and `chatgate serve`,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from pydantic import SecretStr

from chatgate.auth import hash_token, make_token
from chatgate.crypto import Keyring
from chatgate.db.engine import make_engine
from chatgate.db.queries import Database
from chatgate.profile_fields import FIELDS_BY_NAME, PROFILE_FIELDS
from chatgate.profiles import update_profile

PG_ADMIN_URL = os.environ.get(
    "CHATGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHAT_PATH = "/api/chat/openai"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()}")


def start(
    args: list[str], env: dict[str, str], log: Path, ready_url: str
) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "chatgate", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    wait_for(ready_url, process, log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Upstream:
    url: str  # what OPENAI_BASE_URL is set to
    root: str

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = httpx.get(self.root + "/_fake/requests").json()
        return result

    def last_request(self) -> dict[str, Any]:
        return self.requests()[-1]

    def clear(self) -> None:
        httpx.delete(self.root + "/_fake/requests")

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = httpx.get(self.root + "/_fake/stats").json()
        return result


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    log: Path
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    secrets_used: set[str] = field(default_factory=set)

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "chatgate", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"chatgate {' '.join(args)} failed: {result.stderr}")
        return result

    def create_user(
        self,
        *,
        username: str | None = None,
        openai_key: str | None = None,
        org: str | None = None,
        **fields: str,
    ) -> str:
        """A new user (with a unique name unless given), an access token and the
        given profile fields, made in-process against the server's database (the
        CLI has tests of its own)."""
        token = make_token()
        self.secrets_used.add(token)
        changes = {"openai_api_key": openai_key, "openai_organization_id": org, **fields}
        self.secrets_used.update(
            value for name, value in changes.items() if value and FIELDS_BY_NAME[name].secret
        )

        async def work() -> None:
            db = Database(make_engine(self.database_url))
            try:
                user = await db.create_user(username=username or "u" + secrets.token_hex(6))
                await db.create_token(user_id=user.id, token_hash=hash_token(token), label="test")
                keyring = Keyring([SecretStr(self.env["CHATGATE_SECRET_KEY"])])
                await update_profile(
                    db=db,
                    keyring=keyring,
                    user_id=user.id,
                    changes={k: v for k, v in changes.items() if v},
                )
            finally:
                await db.close()

        asyncio.run(work())
        return token

    def create_custom_model(self, token: str, **fields: Any) -> dict[str, Any]:
        """A custom model made through the API, as the front end makes one."""
        body = {"name": "Local", "model_id": "fake-local-model", "context_length": 4096, **fields}
        if body.get("api_key"):
            self.secrets_used.add(body["api_key"])
        response = httpx.post(
            self.base_url + "/api/models", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def base_env(
    tmp: Path, upstream: Upstream, database_url: str, extra: dict[str, str]
) -> dict[str, str]:
    provider_vars = {f.env_var for f in PROFILE_FIELDS}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHATGATE_", "OPENAI_")) and k not in provider_vars
    }
    env.update(
        CHATGATE_DATA_DIR=str(tmp / "data"),
        CHATGATE_DATABASE_URL=database_url,
        # Required with CHATGATE_DATABASE_URL (a secret is generated only for the default).
        CHATGATE_SECRET_KEY="the-secret-of-every-test-server-0123456789",
        CHATGATE_MAX_BODY_BYTES=str(2 * 1024 * 1024),
        CHATGATE_UPSTREAM_MAX_RETRIES="2",
        # The fake serves every provider: each at its own path under one root.
        OPENAI_BASE_URL=upstream.url,
        CHATGATE_ANTHROPIC_BASE_URL=upstream.root,
        CHATGATE_GOOGLE_BASE_URL=upstream.root,
        CHATGATE_MISTRAL_BASE_URL=upstream.url,
        CHATGATE_GROQ_BASE_URL=upstream.url,
        CHATGATE_PERPLEXITY_BASE_URL=upstream.url,
        CHATGATE_OPENROUTER_BASE_URL=upstream.url,
        CHATGATE_AZURE_DEPLOYMENTS='{"gpt-4o": "team-4o"}',
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def dependencies_are_compiled() -> bool:
    source = pydantic.__file__
    return source is not None and Path(importlib.util.cache_from_source(source)).exists()


@pytest.fixture(scope="session", autouse=True)
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every child process starts from the bytecode the first one compiled.

    Where bytecode is not written (PYTHONDONTWRITEBYTECODE, a venv installed without
    it), each `chatgate` process would compile its dependencies from source again:
    seconds a start, hundreds of starts. The children write it to a directory of
    this session instead (the venv stays untouched)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or dependencies_are_compiled():
        yield
        return
    saved = {
        name: os.environ.get(name) for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("bytecode"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory, bytecode_cache: None) -> Iterator[Upstream]:
    port = free_port()
    log = tmp_path_factory.mktemp("fake") / "fake.log"
    root = f"http://127.0.0.1:{port}"
    process = start(
        ["fake-openai", "--port", str(port)], dict(os.environ), log, root + "/_fake/stats"
    )
    yield Upstream(url=root + "/v1", root=root)
    stop(process)


def postgres_database() -> Iterator[str]:
    import asyncpg

    name = "chatgate_test_" + secrets.token_hex(4)
    admin = PG_ADMIN_URL

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield admin.rsplit("/", 1)[0] + "/" + name
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'chatgate.db'}"


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_database_url")
    else:
        yield from postgres_database()


@contextmanager
def serving(
    tmp: Path, upstream: Upstream, database_url: str, extra: dict[str, str]
) -> Iterator[Server]:
    """A `chatgate serve` process, stopped (SIGTERM) when the block ends; its whole
    log is then checked for every token and key the tests gave it."""
    port = free_port()
    env = base_env(tmp, upstream, database_url, extra)
    log = tmp / "serve.log"
    base_url = f"http://127.0.0.1:{port}"
    process = start(["serve", "--port", str(port)], env, log, base_url + "/healthz")
    server = Server(base_url, env, log, tmp / "data", database_url, process)
    try:
        yield server
    finally:
        stop(process)
    written = log.read_text()
    leaked = sorted(secret for secret in server.secrets_used if secret in written)
    assert not leaked, f"secrets in the server log: {leaked}"


def run_server(
    tmp: Path, upstream: Upstream, database_url: str, extra: dict[str, str]
) -> Iterator[Server]:
    with serving(tmp, upstream, database_url, extra) as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_server(
    upstream: Upstream, sqlite_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The main server on SQLite, for tests that need no second backend."""
    tmp = tmp_path_factory.mktemp("serve-sqlite")
    yield from run_server(tmp, upstream, sqlite_database_url, {})


@pytest.fixture(scope="session")
def server(
    upstream: Upstream,
    database_url: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """The main server, once per database backend (on SQLite, sqlite_server)."""
    if database_url.startswith("sqlite"):
        yield request.getfixturevalue("sqlite_server")
        return
    yield from run_server(tmp_path_factory.mktemp("serve"), upstream, database_url, {})


def chat_body(content: str = "Hello", model: str = "gpt-4o", **settings: Any) -> dict[str, Any]:
    return {
        "chatSettings": {"model": model, "temperature": 0.5, **settings},
        "messages": [{"role": "user", "content": content}],
    }


def read_answer(server: Server, token: str, body: object, *, into: list[str]) -> None:
    """Stream an answer, collecting its text as it arrives (kept if the stream breaks)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream(
        "POST", server.base_url + CHAT_PATH, json=body, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            into.append(text)
