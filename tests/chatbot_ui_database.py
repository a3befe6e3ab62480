"""A Supabase database running Chatbot UI, on the local PostgreSQL: the fixture schema
(tests/fixtures/chatbot_ui_schema.sql), its users and what they typed into it."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from chatgate.profile_fields import FIELD_NAMES

ADMIN_URL = os.environ.get(
    "CHATGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = (FIXTURES / "chatbot_ui_schema.sql").read_text()
ADD_GROQ = (FIXTURES / "chatbot_ui_add_groq.sql").read_text()


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database(*scripts: str) -> Iterator[str]:
    """A fresh database with the scripts run in it, dropped afterwards."""
    name = "chatgate_cui_" + secrets.token_hex(4)
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    async def load() -> None:
        conn = await asyncpg.connect(url)
        try:
            for script in scripts:
                await conn.execute(script)
        finally:
            await conn.close()

    try:
        asyncio.run(load())
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def sign_up(url: str, **keys: str) -> str:
    """A Supabase user, whose profile the sign-up trigger creates; then the keys they
    typed into Chatbot UI's settings."""
    conn = await asyncpg.connect(url)
    try:
        user_id = await conn.fetchval(
            "INSERT INTO auth.users (email, aud, role) VALUES ($1, 'authenticated',"
            " 'authenticated') RETURNING id",
            f"{secrets.token_hex(4)}@example.com",
        )
        for column, value in keys.items():
            await set_key(url, subject=str(user_id), column=column, value=value, conn=conn)
    finally:
        await conn.close()
    return str(user_id)


async def set_key(
    url: str, *, subject: str, column: str, value: str, conn: asyncpg.Connection | None = None
) -> None:
    """What saving Chatbot UI's settings does to one key."""
    assert column in FIELD_NAMES
    own = conn is None
    conn = conn or await asyncpg.connect(url)
    try:
        await conn.execute(
            f"UPDATE public.profiles SET {column} = $1 WHERE user_id = $2",  # noqa: S608
            value,
            uuid.UUID(subject),
        )
    finally:
        if own:
            await conn.close()


async def add_model(
    url: str,
    *,
    owner: str,
    sharing: str,
    api_key: str = "sk-model",
    base_url: str = "http://llm.local:11434/v1/",
    name: str = "Llama",
) -> str:
    conn = await asyncpg.connect(url)
    try:
        model_id = await conn.fetchval(
            "INSERT INTO public.models (user_id, sharing, api_key, base_url, description,"
            " model_id, name, context_length) VALUES ($1, $2, $3, $4,"
            " '', ' llama3.1:8b ', $5, 8192) RETURNING id",
            uuid.UUID(owner),
            sharing,
            api_key,
            base_url,
            name,
        )
    finally:
        await conn.close()
    return str(model_id)
