"""The app in-process: create_app(settings) behind httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chatgate.app import create_app
from chatgate.auth import hash_token, make_token
from chatgate.runtime import Runtime
from chatgate.settings import Settings


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
