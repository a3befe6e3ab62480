"""The chatgate command on its own: what it (and the server it starts) imports,
the schema it expects, the secret it will and will not use, and its one-line failures."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection

from chatgate.db.engine import make_engine
from chatgate.db.migrate import alembic_config
from chatgate.profile_fields import PROFILE_FIELDS
from tests.e2e.conftest import free_port, start, stop

SECRET = "a-secret-for-the-command-line-tests-0700"
OTHER_SECRET = "another-secret-for-the-same-database-0701"


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    provider_vars = {f.env_var for f in PROFILE_FIELDS}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHATGATE_", "OPENAI_")) and k not in provider_vars
    }
    return {**env, "CHATGATE_DATA_DIR": str(tmp / "data"), **extra}


def chatgate(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatgate", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_listing_users_imports_neither_the_web_stack_nor_alembic(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from chatgate.cli import main\n"
        "try:\n"
        "    main(['user', 'list'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('aiohttp', 'fastapi', 'starlette', 'uvicorn', 'alembic', 'redis',"
        " 'chatgate.providers', 'chatgate.app')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    env = clean_env(tmp_path)
    chatgate(env, "migrate")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_server_imports_only_what_its_settings_use(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from chatgate.app import create_app_from_env\n"
        "create_app_from_env()\n"
        "optional = ('alembic', 'redis', 'jwt', 'sqlalchemy.dialects.postgresql',"
        " 'chatgate.fake')\n"
        "print(sorted(m for m in optional if m in sys.modules))\n"
    )
    # SQLite, no Redis, no Supabase sign-in: none of their clients (PyJWT alone is 2 MB).
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


async def downgrade(database_url: str, revision: str) -> None:
    engine = make_engine(database_url)

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


def test_a_schema_behind_is_left_to_chatgate_migrate(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert chatgate(env, "migrate").returncode == 0
    # The database as an earlier release left it: Alembic takes it back to 0002.
    asyncio.run(downgrade(f"sqlite:///{tmp_path / 'data' / 'chatgate.db'}", "0002"))
    line = one_line_error(chatgate(env, "user", "list"))
    assert line == "error: Database schema is behind: run chatgate migrate"
    assert chatgate(env, "migrate").stdout.strip() == "database is up to date"
    assert chatgate(env, "user", "list").returncode == 0


def serving_rss(env: dict[str, str], log: Path) -> int:
    """The resident memory (kB) of a `chatgate serve` that has answered once."""
    port = free_port()
    process = start(["serve", "--port", str(port)], env, log, f"http://127.0.0.1:{port}/healthz")
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    finally:
        stop(process)


def test_serve_migrates_a_schema_behind_without_keeping_alembic(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CHATGATE_SECRET_KEY=SECRET)
    assert chatgate(env, "migrate").returncode == 0
    asyncio.run(downgrade(f"sqlite:///{tmp_path / 'data' / 'chatgate.db'}", "0002"))
    after_migrating = serving_rss(env, tmp_path / "first.log")
    assert chatgate(env, "user", "list").returncode == 0  # the schema is current again
    on_a_current_schema = serving_rss(env, tmp_path / "second.log")
    # Alembic alone is about 9 MB: the server that migrated holds none of it.
    assert after_migrating - on_a_current_schema < 4 * 1024


def test_a_brand_new_database_gets_its_schema_from_any_command(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    created = chatgate(env, "user", "create", "alice")
    assert created.returncode == 0, created.stderr
    listed = chatgate(env, "user", "list").stdout.split("\t")
    assert listed[1] == "alice"
    assert listed[2].strip().endswith("+00:00")  # UTC, ISO 8601 with its offset


def test_no_secret_is_generated_for_another_database(tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'shared' / 'chatgate.db'}"
    env = clean_env(tmp_path, CHATGATE_DATABASE_URL=elsewhere)
    assert chatgate(env, "user", "create", "alice").returncode == 0
    refused = chatgate(env, "profile", "set", "alice", "--openai-api-key-stdin", stdin="sk-x\n")
    assert "CHATGATE_SECRET_KEY is not set" in one_line_error(refused)
    serve = chatgate(env, "serve", "--port", "9")
    assert "CHATGATE_SECRET_KEY is not set" in one_line_error(serve)
    assert not (tmp_path / "data" / "secret.key").exists()


def test_a_wrong_secret_is_refused_at_start(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CHATGATE_SECRET_KEY=SECRET)
    chatgate(env, "user", "create", "alice")
    chatgate(env, "profile", "set", "alice", "--openai-api-key-stdin", stdin="sk-alice-0702\n")
    wrong = clean_env(tmp_path, CHATGATE_SECRET_KEY=OTHER_SECRET)
    for args in (("serve", "--port", "9"), ("model", "list", "alice"), ("secret", "rotate")):
        line = one_line_error(chatgate(wrong, *args))
        assert "CHATGATE_SECRET_KEY is not the secret" in line
        assert "CHATGATE_PREVIOUS_SECRET_KEYS" in line
    assert chatgate(wrong, "user", "list").returncode == 0  # touches no key
    # A database kept by an older chatgate has no check value: its stored keys tell.
    with sqlite3.connect(tmp_path / "data" / "chatgate.db") as db:
        db.execute("DELETE FROM meta")
    assert "CHATGATE_SECRET_KEY is not the secret" in one_line_error(chatgate(wrong, *args))
    assert chatgate(env, "profile", "show", "alice").returncode == 0


def test_one_unreadable_value_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    first = clean_env(tmp_path, CHATGATE_SECRET_KEY=SECRET)
    chatgate(first, "user", "create", "alice")
    chatgate(first, "profile", "set", "alice", "--openai-api-key-stdin", stdin="sk-kept-0703\n")
    rotating = clean_env(
        tmp_path, CHATGATE_SECRET_KEY=OTHER_SECRET, CHATGATE_PREVIOUS_SECRET_KEYS=SECRET
    )
    made = chatgate(
        rotating,
        *("model", "create", "alice", "--name", "Local", "--base-url", "http://127.0.0.1:9/v1"),
        *("--model-id", "llama", "--context-length", "8192", "--api-key-stdin"),
        stdin="sk-sealed-with-the-new-secret-0704\n",
    )
    model_id = made.stdout.splitlines()[-1]
    # The operator goes back to the first secret: the model's key no longer opens.
    listed = chatgate(first, "model", "list", "alice")
    assert f"{model_id}\tLocal" in listed.stdout
    assert "unreadable: enter it again" in listed.stdout
    assert model_id in one_line_error(listed)
    rotated = chatgate(first, "secret", "rotate")
    assert "re-encrypted 0 stored values" in rotated.stdout
    assert f"custom model {model_id}" in one_line_error(rotated)
    shown = chatgate(first, "profile", "show", "alice")
    assert "openai_api_key: ****0703" in shown.stdout
    assert shown.returncode == 0


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("CHATGATE_SECRET_KEY", "too-short", "CHATGATE_SECRET_KEY: must be at least 32"),
        ("CHATGATE_CORS_ORIGINS", "https://chat.example/app", "CHATGATE_CORS_ORIGINS: "),
    ],
)
def test_a_bad_setting_stops_every_command_in_one_line(
    tmp_path: Path, setting: str, value: str, message: str
) -> None:
    env = clean_env(tmp_path, **{setting: value})
    for args in (("serve", "--port", "9"), ("user", "list")):
        assert message in one_line_error(chatgate(env, *args), code=2)


def test_token_labels_are_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    chatgate(env, "user", "create", "alice")
    forged = chatgate(env, "token", "create", "alice", "--label", "x\n9\tforged\tnever\tactive")
    assert one_line_error(forged, code=2) == "error: label: must be printable text on one line"
    listing = chatgate(env, "token", "list", "alice").stdout.splitlines()
    assert len(listing) == 2  # the header and the first token
    created = listing[1].split("\t")[1]
    assert created.endswith("+00:00")
