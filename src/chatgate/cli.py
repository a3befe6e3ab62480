"""The chatgate command."""

from __future__ import annotations

import asyncio
import logging.config
import math
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click
from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from chatgate.auth import hash_token, make_token
from chatgate.cli_usage import usage_command, user_quota
from chatgate.crypto import Keyring, load_secret, mask_secret
from chatgate.custom_models import (
    CustomModelFields,
    create_custom_model,
    delete_custom_model,
    list_custom_models,
    reseal_custom_model_keys,
)
from chatgate.db.engine import BadDatabaseUrl, make_engine
from chatgate.db.migrate import migrate
from chatgate.db.queries import Database, User
from chatgate.errors import ChatgateError, describe_validation_errors
from chatgate.identities import announce_change
from chatgate.logs import log_config
from chatgate.profile_fields import PROFILE_FIELDS
from chatgate.profiles import load_profile, mask, reseal_profiles, update_profile
from chatgate.runtime import make_keyring
from chatgate.settings import Settings, load_settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def run_with_db(settings: Settings, work: Callable[[Database, Keyring], Awaitable[T]]) -> T:
    """Run one command's work against a migrated database, with clean errors."""

    async def main() -> T:
        db = Database(make_engine(settings.effective_database_url))
        try:
            await migrate(db.engine)
            return await work(db, make_keyring(settings))
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except BadDatabaseUrl as exc:
        fail(f"CHATGATE_DATABASE_URL: {exc}", 2)
    except ChatgateError as exc:
        fail(exc.message)
    except (OSError, ConnectionError) as exc:
        fail(f"cannot reach the database: {exc.strerror or exc}")
    raise AssertionError("unreachable")


async def require_user(db: Database, username: str) -> User:
    user = await db.get_user(username=username)
    if user is None:
        fail(f"no user named {username!r}")
    assert user is not None
    return user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """chatgate: a self-hosted streaming chat API server."""
    logging.config.dictConfig(log_config(os.environ.get("CHATGATE_LOG_LEVEL", "info")))
    logging.getLogger("chatgate.crypto").setLevel(logging.WARNING)


def _settings_help() -> str:
    lines = ["\b", "Environment variables (defaults in brackets):"]
    for name, field in Settings.model_fields.items():
        if name == "provider_env":
            continue
        env = "OPENAI_BASE_URL" if name == "openai_base_url" else f"CHATGATE_{name.upper()}"
        default = "" if field.default in (None, PydanticUndefined) else f" [{field.default}]"
        lines.append(f"  {env}{default}: {field.description}")
    lines.append("  OPENAI_API_KEY, ANTHROPIC_API_KEY, ...: server-wide keys for every user")
    return "\n".join(lines)


@main.command(epilog=_settings_help())
@click.option("--host", help="Address to bind [CHATGATE_HOST, 127.0.0.1].")
@click.option("--port", type=int, help="Port [CHATGATE_PORT, 8000].")
@click.option("--workers", type=int, help="Worker processes [CHATGATE_WORKERS, 1].")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations at start.")
def serve(host: str | None, port: int | None, workers: int | None, no_migrate: bool) -> None:
    """Serve the chat API."""
    import uvicorn

    if no_migrate:
        os.environ["CHATGATE_MIGRATE_ON_START"] = "false"
    settings = load_settings()
    if settings.migrate_on_start:
        # Once here, before the workers start; they then skip it.
        run_with_db(settings, lambda _db, _keyring: asyncio.sleep(0))
        os.environ["CHATGATE_MIGRATE_ON_START"] = "false"
    else:
        load_secret(settings.secret_key, settings.data_dir)
    uvicorn.run(
        "chatgate.app:create_app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=log_config(settings.log_level),
        access_log=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        server_header=False,
    )


@main.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations."""
    settings = load_settings()
    run_with_db(settings, lambda _db, _keyring: asyncio.sleep(0))
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--label", default="created with the user", help="Label of the first token.")
def user_create(username: str, label: str) -> None:
    """Create a user and print its first access token (last line)."""
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        fail("a username is 1 to 64 printable characters without spaces", 2)

    async def work(db: Database, _keyring: Keyring) -> str:
        new = await db.create_user(username=username)
        token = make_token()
        await db.create_token(user_id=new.id, token_hash=hash_token(token), label=label)
        return token

    token = run_with_db(load_settings(), work)
    click.echo(f"created user {username}; its access token (shown once, store it now):")
    click.echo(token)


@user.command("list")
def user_list() -> None:
    """List users."""
    for found in run_with_db(load_settings(), lambda db, _k: db.list_users()):
        click.echo(f"{found.id}\t{found.username}\t{found.created_at:%Y-%m-%d %H:%M}")


user.add_command(user_quota)
main.add_command(usage_command)


@main.group()
def token() -> None:
    """Manage access tokens."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="", help="What the token is for.")
def token_create(username: str, label: str) -> None:
    """Create an access token for a user (printed once, on the last line)."""

    async def work(db: Database, _keyring: Keyring) -> str:
        owner = await require_user(db, username)
        new = make_token()
        await db.create_token(user_id=owner.id, token_hash=hash_token(new), label=label[:100])
        return new

    new = run_with_db(load_settings(), work)
    click.echo(f"access token for {username} (shown once, store it now):")
    click.echo(new)


@token.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """List a user's tokens (never the tokens themselves)."""

    async def work(db: Database, _keyring: Keyring) -> None:
        owner = await require_user(db, username)
        click.echo("id\tcreated\tlast used\tstatus\tlabel")
        for t in await db.list_tokens(user_id=owner.id):
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            status = "revoked" if t.revoked_at else "active"
            click.echo(f"{t.id}\t{t.created_at:%Y-%m-%d %H:%M}\t{used}\t{status}\t{t.label}")

    run_with_db(load_settings(), work)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an access token by its id."""

    settings = load_settings()

    async def work(db: Database, _keyring: Keyring) -> bool:
        user_id = await db.token_user_id(token_id=token_id)
        if user_id is None:
            fail(f"no token with id {token_id}")
        revoked = await db.revoke_token(token_id=token_id)
        await announce_change(settings.redis_url, user_id)
        return revoked

    revoked = run_with_db(settings, work)
    click.echo(f"token {token_id} revoked" if revoked else f"token {token_id} was already revoked")


@main.group()
def profile() -> None:
    """Show or change a user's stored provider keys."""


def _profile_options(command: Callable[..., None]) -> Callable[..., None]:
    for field in reversed(PROFILE_FIELDS):
        flag = field.name.replace("_", "-")
        command = click.option(
            f"--clear-{flag}", field.name + "__clear", is_flag=True, help=f"Clear {field.name}."
        )(command)
        if field.secret:
            command = click.option(
                f"--{flag}-stdin",
                field.name + "__stdin",
                is_flag=True,
                help=f"Read {field.name} from standard input (keeps it out of shell history).",
            )(command)
        else:
            command = click.option(
                f"--{flag}", field.name, metavar="VALUE", help=f"Set {field.name}."
            )(command)
    return command


@profile.command("set")
@click.argument("username")
@_profile_options
def profile_set(username: str, **options: Any) -> None:
    """Set or clear profile fields (secrets are read from standard input)."""
    changes: dict[str, str | None] = {}
    from_stdin = [f.name for f in PROFILE_FIELDS if options.get(f.name + "__stdin")]
    if len(from_stdin) > 1:
        fail("read one key from standard input at a time", 2)
    for field in PROFILE_FIELDS:
        if options.get(field.name + "__clear"):
            changes[field.name] = None
        elif field.name in from_stdin:
            value = sys.stdin.readline().strip()
            if not value:
                fail(f"no {field.name} on standard input", 2)
            changes[field.name] = value
        elif options.get(field.name) is not None:
            changes[field.name] = options[field.name]
    if not changes:
        fail("nothing to change: see chatgate profile set --help", 2)
    settings = load_settings()

    async def work(db: Database, keyring: Keyring) -> None:
        owner = await require_user(db, username)
        await update_profile(db=db, keyring=keyring, user_id=owner.id, changes=changes)
        await announce_change(settings.redis_url, owner.id)

    run_with_db(settings, work)
    click.echo(f"updated {', '.join(sorted(changes))} for {username}")


@profile.command("show")
@click.argument("username")
def profile_show(username: str) -> None:
    """Show a user's profile, secrets masked to their last 4 characters."""
    settings = load_settings()

    async def work(db: Database, keyring: Keyring) -> None:
        owner = await require_user(db, username)
        shown = await load_profile(db=db, keyring=keyring, user_id=owner.id, provider_env={})
        for field in PROFILE_FIELDS:
            value = mask(field.name, shown.get(field.name))
            env = (
                " (overridden by the server's environment)"
                if field.env_var in settings.provider_env
                else ""
            )
            click.echo(f"{field.name}: {value or '-'}{env}")

    run_with_db(settings, work)


@main.group()
def secret() -> None:
    """Manage the secret that encrypts stored keys."""


@secret.command("rotate")
def secret_rotate() -> None:
    """Re-encrypt every stored key with CHATGATE_SECRET_KEY.

    \b
    1. Set CHATGATE_SECRET_KEY to the new secret and CHATGATE_PREVIOUS_SECRET_KEYS
       to the old one, on every instance (both open stored keys meanwhile).
    2. Run chatgate secret rotate.
    3. Remove CHATGATE_PREVIOUS_SECRET_KEYS.
    """
    settings = load_settings()

    async def work(db: Database, keyring: Keyring) -> int:
        profiles_count = await reseal_profiles(db=db, keyring=keyring)
        return profiles_count + await reseal_custom_model_keys(db=db, keyring=keyring)

    count = run_with_db(settings, work)
    click.echo(f"re-encrypted {count} stored values with the current secret")


@main.group()
def model() -> None:
    """Manage a user's custom models (OpenAI-compatible servers)."""


@model.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the user sees in the model picker.")
@click.option("--base-url", required=True, help="The URL /chat/completions is appended to.")
@click.option("--model-id", required=True, help="The model to ask that server for.")
@click.option("--context-length", required=True, type=int, help="The model's context window.")
@click.option("--description", default="", help="A line about the model.")
@click.option("--api-key-stdin", is_flag=True, help="Read the server's key from standard input.")
def model_create(
    username: str,
    name: str,
    base_url: str,
    model_id: str,
    context_length: int,
    description: str,
    api_key_stdin: bool,
) -> None:
    """Add a custom model for a user; prints its id (last line)."""
    api_key = sys.stdin.readline().strip() if api_key_stdin else None
    if api_key_stdin and not api_key:
        fail("no API key on standard input", 2)
    try:
        fields = CustomModelFields(
            name=name,
            description=description,
            base_url=base_url,
            api_key=api_key,
            model_id=model_id,
            context_length=context_length,
        )
    except ValidationError as exc:
        fail(describe_validation_errors(exc.errors()), 2)

    async def work(db: Database, keyring: Keyring) -> str:
        owner = await require_user(db, username)
        created = await create_custom_model(db=db, keyring=keyring, user_id=owner.id, fields=fields)
        return created.id

    new_id = run_with_db(load_settings(), work)
    click.echo(f"created custom model {name!r} for {username}; its id:")
    click.echo(new_id)


@model.command("list")
@click.argument("username")
def model_list(username: str) -> None:
    """List a user's custom models, keys masked to their last 4 characters."""

    async def work(db: Database, keyring: Keyring) -> None:
        owner = await require_user(db, username)
        click.echo("id\tname\tmodel id\tbase URL\tcontext length\tAPI key")
        for m in await list_custom_models(db=db, keyring=keyring, user_id=owner.id):
            key = "-" if m.api_key is None else mask_secret(m.api_key)
            click.echo(f"{m.id}\t{m.name}\t{m.model_id}\t{m.base_url}\t{m.context_length}\t{key}")

    run_with_db(load_settings(), work)


@model.command("delete")
@click.argument("username")
@click.argument("model_id")
def model_delete(username: str, model_id: str) -> None:
    """Delete one of a user's custom models by its id."""

    async def work(db: Database, _keyring: Keyring) -> None:
        owner = await require_user(db, username)
        await delete_custom_model(db=db, user_id=owner.id, custom_model_id=model_id)

    run_with_db(load_settings(), work)
    click.echo(f"deleted custom model {model_id} of {username}")


@main.command("fake-openai")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int)
@click.option("--chunks", default=12, show_default=True, type=int, help="Text chunks per answer.")
@click.option("--delay-ms", default=0, show_default=True, type=int, help="Pause between chunks.")
def fake_openai(host: str, port: int, chunks: int, delay_ms: int) -> None:
    """Serve a fake of every provider's streaming API for tests and try-outs.

    Point the OpenAI-compatible base URLs at http://HOST:PORT/v1 (or /local/v1,
    which needs no key), Anthropic's and Gemini's at http://HOST:PORT, and an
    Azure endpoint at http://HOST:PORT.
    """
    from chatgate.fake import run_fake

    click.echo(f"fake providers listening on http://{host}:{port}", err=True)
    run_fake(host=host, port=port, chunks=chunks, delay_ms=delay_ms)
