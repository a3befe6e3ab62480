"""The chatgate command.

Each command imports what it uses when it runs: ``chatgate --help`` loads click
and little else, and ``chatgate user list`` neither the web stack nor Alembic.
Migrations run in ``migrate`` (``serve`` starts one, so that the server never holds
Alembic); other commands only check that the schema is current (a brand-new, empty
database gets its schema from any command).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from chatgate.profile_fields import PROFILE_FIELDS

if TYPE_CHECKING:
    from chatgate.crypto import Keyring
    from chatgate.db.queries import Database
    from chatgate.settings import Settings

T = TypeVar("T")


class CommandFailed(Exception):
    """A command cannot go on; its message is the one line the operator sees."""


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def check_argument(check: Callable[[str], object], value: str) -> None:
    """Check an argument before any database work: a refusal is a usage error (exit 2)."""
    from chatgate.errors import BadRequest

    try:
        check(value)
    except BadRequest as exc:
        fail(exc.message, 2)


def when(moment: datetime) -> str:
    """A date as listed: UTC, ISO 8601 with its offset."""
    return moment.isoformat(timespec="seconds")


def current_settings() -> Settings:
    from pydantic import ValidationError

    from chatgate.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        problems = (
            f"CHATGATE_{str(e['loc'][0]).upper() if e['loc'] else 'SETTINGS'}: "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        fail("; ".join(problems), 2)


class MigrationFailed(Exception):
    """``chatgate migrate`` failed; it said why on standard error."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def migrate_in_own_process() -> None:
    """Apply the migrations in a ``chatgate migrate`` process: once imported, Alembic
    would stay in the server's memory (about 9 MB) for as long as it serves."""
    import asyncio

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatgate", "migrate", stdout=asyncio.subprocess.DEVNULL
    )
    status = await child.wait()
    if status != 0:
        raise MigrationFailed(status if status > 0 else 1)


async def prepare_schema(db: Database, *, migrate: bool, migrate_apart: bool = False) -> None:
    """Migrate (``migrate``, or a brand-new empty database), or refuse a schema that is
    not this chatgate's: a server may be running on it, so it is upgraded on purpose.
    With ``migrate_apart`` the migrations run in a process of their own."""
    from chatgate.db.schema import SchemaState, schema_state

    state = await schema_state(db.engine)
    if state is SchemaState.CURRENT:
        return
    if state is SchemaState.UNKNOWN:
        raise CommandFailed("Database schema is newer than this chatgate: upgrade chatgate")
    if state is SchemaState.BEHIND and not migrate:
        raise CommandFailed("Database schema is behind: run chatgate migrate")
    if migrate_apart:
        await migrate_in_own_process()
        return
    from chatgate.db.migrate import migrate as apply_migrations

    await apply_migrations(db.engine)


def run_with_db(
    settings: Settings,
    work: Callable[[Database], Awaitable[T]],
    *,
    migrate: bool = False,
    migrate_apart: bool = False,
) -> T:
    """Run one command's work against a current schema, with one-line errors."""
    import asyncio

    from chatgate.crypto import SecretUnavailable
    from chatgate.db.engine import BadDatabaseUrl, make_engine
    from chatgate.db.queries import Database
    from chatgate.errors import ChatgateError

    async def main() -> T:
        db = Database(make_engine(settings.effective_database_url))
        try:
            await prepare_schema(db, migrate=migrate, migrate_apart=migrate_apart)
            return await work(db)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except BadDatabaseUrl as exc:
        fail(f"CHATGATE_DATABASE_URL: {exc}", 2)
    except ChatgateError as exc:
        fail(exc.message)
    except (CommandFailed, SecretUnavailable) as exc:
        fail(str(exc))
    except (OSError, ConnectionError) as exc:
        fail(f"cannot reach the database: {exc.strerror or exc}")
    except MigrationFailed as exc:
        sys.exit(exc.status)


def run_with_keyring(
    settings: Settings,
    work: Callable[[Database, Keyring], Awaitable[T]],
    *,
    migrate: bool = False,
    migrate_apart: bool = False,
) -> T:
    """As run_with_db, for work that seals or opens stored keys: the secret must be
    the one the database's keys are sealed with."""

    async def checked(db: Database) -> T:
        from chatgate.secret import check_secret, make_keyring

        keyring = make_keyring(settings)
        await check_secret(db=db, keyring=keyring)
        return await work(db, keyring)

    return run_with_db(settings, checked, migrate=migrate, migrate_apart=migrate_apart)


def quiet_unreadable_logs() -> None:
    # The commands report a stored value that no longer opens themselves, in one line.
    import logging

    for name in ("chatgate.profiles", "chatgate.custom_models"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """chatgate: a self-hosted streaming chat API server."""
    import logging.config

    from chatgate.logs import log_config

    logging.config.dictConfig(log_config(os.environ.get("CHATGATE_LOG_LEVEL", "info")))
    logging.getLogger("chatgate.crypto").setLevel(logging.WARNING)


class ServeCommand(click.Command):
    """Lists every setting in its help, read from Settings only when the help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = _settings_help()
        super().format_epilog(ctx, formatter)


def _settings_help() -> str:
    from pydantic_core import PydanticUndefined

    from chatgate.settings import Settings

    lines = ["\b", "Environment variables (defaults in brackets):"]
    for name, field in Settings.model_fields.items():
        if name == "provider_env":
            continue
        env = "OPENAI_BASE_URL" if name == "openai_base_url" else f"CHATGATE_{name.upper()}"
        default = "" if field.default in (None, PydanticUndefined) else f" [{field.default}]"
        lines.append(f"  {env}{default}: {field.description}")
    lines.append("  OPENAI_API_KEY, ANTHROPIC_API_KEY, ...: server-wide keys for every user")
    return "\n".join(lines)


async def _chatbot_ui_readable(settings: Settings) -> None:
    """With CHATGATE_SUPABASE_DATABASE_URL: Chatbot UI's tables can be read, or no server."""
    from chatgate.db.chatbot_ui import ChatbotUiSchemaError
    from chatgate.supabase.chatbot_ui_store import ChatbotUiStore

    store = ChatbotUiStore.from_settings(settings)
    if store is None:
        return
    try:
        await store.start()
    except ChatbotUiSchemaError as exc:
        raise CommandFailed(f"CHATGATE_SUPABASE_DATABASE_URL: {exc}") from exc
    finally:
        await store.close()


@main.command(cls=ServeCommand)
@click.option("--host", help="Address to bind [CHATGATE_HOST, 127.0.0.1].")
@click.option("--port", type=int, help="Port [CHATGATE_PORT, 8000].")
@click.option("--workers", type=int, help="Worker processes [CHATGATE_WORKERS, 1].")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations at start.")
def serve(host: str | None, port: int | None, workers: int | None, no_migrate: bool) -> None:
    """Serve the chat API."""
    import math

    import uvicorn

    from chatgate.logs import log_config

    if no_migrate:
        os.environ["CHATGATE_MIGRATE_ON_START"] = "false"
    if host:  # the workers read it too: private upstreams are denied beyond loopback
        os.environ["CHATGATE_HOST"] = host
    settings = current_settings()
    # Once here, before the workers start (they then skip it): the schema, and a secret
    # that opens the database's keys, or no server at all. With one worker this process
    # serves too: the migrations run apart, so that Alembic is never imported in it.
    run_with_keyring(
        settings,
        lambda _db, _keyring: _chatbot_ui_readable(settings),
        migrate=settings.migrate_on_start,
        migrate_apart=True,
    )
    os.environ["CHATGATE_MIGRATE_ON_START"] = "false"
    from chatgate.web.connections import raise_open_file_limit

    raise_open_file_limit()
    uvicorn.run(
        "chatgate.app:create_app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        loop="uvloop",
        http="chatgate.web.connections:GuardedHttpToolsProtocol",
        lifespan="on",
        log_config=log_config(settings.log_level),
        access_log=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        server_header=False,
        # Forwarded headers are read by chatgate itself, from CHATGATE_TRUSTED_PROXIES
        # only (see chatgate.supabase.request_origin): uvicorn would believe any from
        # 127.0.0.1 and rewrite the peer's address chatgate checks them by.
        proxy_headers=False,
    )


async def _schema_only(_db: Database) -> None:
    return None


@main.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations."""
    run_with_db(current_settings(), _schema_only, migrate=True)
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--label", default="created with the user", help="Label of the first token.")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
def user_create(username: str, label: str, admin: bool) -> None:
    """Create a user and print its first access token (last line)."""
    from chatgate.tokens import check_label
    from chatgate.users import check_username, create_user

    check_argument(check_username, username)
    check_argument(check_label, label)

    async def work(db: Database) -> str:
        _created, minted = await create_user(db=db, username=username, label=label, is_admin=admin)
        return minted.token

    token = run_with_db(current_settings(), work)
    click.echo(f"created user {username}; its access token (shown once, store it now):")
    click.echo(token)


@user.command("list")
def user_list() -> None:
    """List users."""
    from chatgate.users import list_users

    for found in run_with_db(current_settings(), lambda db: list_users(db=db)):
        role = "admin" if found.is_admin else "member"
        state = "disabled" if found.disabled else "active"
        click.echo(f"{found.id}\t{found.username}\t{when(found.created_at)}\t{role}\t{state}")


@user.command("admin")
@click.argument("username")
@click.option("--on/--off", "on", required=True, help="Give or take the admin role.")
def user_admin(username: str, on: bool) -> None:
    """Give a user the admin role, or take it away."""
    _change_user(username, is_admin=on)
    click.echo(f"{username} is {'now' if on else 'no longer'} an administrator")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    _change_user(username, disabled=True)
    click.echo(f"{username} is disabled")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Re-enable a disabled user."""
    _change_user(username, disabled=False)
    click.echo(f"{username} is enabled")


def _change_user(
    username: str, *, is_admin: bool | None = None, disabled: bool | None = None
) -> None:
    from chatgate.identities import announce_change
    from chatgate.users import change_user

    settings = current_settings()

    async def work(db: Database) -> None:
        changed = await change_user(db=db, username=username, is_admin=is_admin, disabled=disabled)
        await announce_change(settings.redis_url, changed.id)

    run_with_db(settings, work)


def _add_usage_commands() -> None:
    # Their module imports only click at the top: the commands import what they use.
    from chatgate.cli_usage import usage_command, user_quota

    user.add_command(user_quota)
    main.add_command(usage_command)


_add_usage_commands()


@main.group()
def token() -> None:
    """Manage access tokens."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="", help="What the token is for (one line).")
def token_create(username: str, label: str) -> None:
    """Create an access token for a user (printed once, on the last line)."""
    from chatgate.tokens import check_label, mint_token
    from chatgate.users import find_user

    check_argument(check_label, label)

    async def work(db: Database) -> str:
        owner = await find_user(db=db, username=username)
        return (await mint_token(db=db, user_id=owner.id, label=label)).token

    new = run_with_db(current_settings(), work)
    click.echo(f"access token for {username} (shown once, store it now):")
    click.echo(new)


@token.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """List a user's tokens (never the tokens themselves)."""
    from chatgate.tokens import list_tokens
    from chatgate.users import find_user

    async def work(db: Database) -> None:
        owner = await find_user(db=db, username=username)
        click.echo("id\tcreated\tlast used\tstatus\tlabel")
        for t in await list_tokens(db=db, user_id=owner.id):
            used = when(t.last_used_at) if t.last_used_at else "never"
            status = "revoked" if t.revoked_at else "active"
            click.echo(f"{t.id}\t{when(t.created_at)}\t{used}\t{status}\t{t.label}")

    run_with_db(current_settings(), work)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an access token by its id."""
    from chatgate.identities import announce_change
    from chatgate.tokens import revoke_token

    settings = current_settings()

    async def work(db: Database) -> bool:
        revocation = await revoke_token(db=db, token_id=token_id, user_id=None)
        await announce_change(settings.redis_url, revocation.user_id)
        return revocation.revoked_now

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
    from chatgate.identities import announce_change
    from chatgate.profiles import update_profile
    from chatgate.users import find_user

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
    settings = current_settings()

    async def work(db: Database, keyring: Keyring) -> None:
        owner = await find_user(db=db, username=username)
        await update_profile(db=db, keyring=keyring, user_id=owner.id, changes=changes)
        await announce_change(settings.redis_url, owner.id)

    run_with_keyring(settings, work)
    click.echo(f"updated {', '.join(sorted(changes))} for {username}")


@profile.command("show")
@click.argument("username")
def profile_show(username: str) -> None:
    """Show a user's profile, secrets masked to their last 4 characters."""
    from chatgate.crypto import Unreadable
    from chatgate.profiles import mask, open_profile, overridden_by_server
    from chatgate.users import find_user

    settings = current_settings()
    quiet_unreadable_logs()

    async def work(db: Database, keyring: Keyring) -> list[str]:
        owner = await find_user(db=db, username=username)
        stored = await open_profile(db=db, keyring=keyring, user_id=owner.id)
        for field in PROFILE_FIELDS:
            value = mask(field.name, stored.get(field.name))
            env = (
                " (overridden by the server's environment)"
                if overridden_by_server(field.name, settings.provider_env)
                else ""
            )
            click.echo(f"{field.name}: {value or '-'}{env}")
        return [name for name, value in stored.items() if isinstance(value, Unreadable)]

    unreadable = run_with_keyring(settings, work)
    if unreadable:
        fail(f"{', '.join(unreadable)} of {username} no longer open: enter them again")


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
    from chatgate.custom_models import reseal_custom_model_keys
    from chatgate.profiles import reseal_profiles
    from chatgate.secret import record_secret

    quiet_unreadable_logs()

    async def work(db: Database, keyring: Keyring) -> tuple[int, list[str]]:
        profiles_count, unreadable_fields = await reseal_profiles(db=db, keyring=keyring)
        models_count, unreadable_keys = await reseal_custom_model_keys(db=db, keyring=keyring)
        # Everything that still opens is sealed with the current secret: it is the database's.
        await record_secret(db=db, keyring=keyring)
        return profiles_count + models_count, unreadable_fields + unreadable_keys

    count, unreadable = run_with_keyring(current_settings(), work)
    click.echo(f"re-encrypted {count} stored values with the current secret")
    if unreadable:
        fail(
            f"{len(unreadable)} stored values open with none of the configured secrets and "
            f"were left as they are (their users must enter them again): {', '.join(unreadable)}"
        )


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
    from pydantic import ValidationError

    from chatgate.custom_models import CustomModelFields, create_custom_model
    from chatgate.errors import describe_validation_errors
    from chatgate.users import find_user

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
        owner = await find_user(db=db, username=username)
        created = await create_custom_model(db=db, keyring=keyring, user_id=owner.id, fields=fields)
        return created.id

    new_id = run_with_keyring(current_settings(), work)
    click.echo(f"created custom model {name!r} for {username}; its id:")
    click.echo(new_id)


@model.command("list")
@click.argument("username")
def model_list(username: str) -> None:
    """List a user's custom models, keys masked to their last 4 characters."""
    from chatgate.crypto import Unreadable, shown_secret
    from chatgate.custom_models import list_custom_models
    from chatgate.users import find_user

    quiet_unreadable_logs()

    async def work(db: Database, keyring: Keyring) -> list[str]:
        owner = await find_user(db=db, username=username)
        click.echo("id\tname\tmodel id\tbase URL\tcontext length\tAPI key")
        models = await list_custom_models(db=db, keyring=keyring, user_id=owner.id)
        for m in models:
            key = shown_secret(m.key) or "-"
            click.echo(f"{m.id}\t{m.name}\t{m.model_id}\t{m.base_url}\t{m.context_length}\t{key}")
        return [m.id for m in models if isinstance(m.key, Unreadable)]

    unreadable = run_with_keyring(current_settings(), work)
    if unreadable:
        fail(f"the keys of {', '.join(unreadable)} no longer open: enter them again")


@model.command("delete")
@click.argument("username")
@click.argument("model_id")
def model_delete(username: str, model_id: str) -> None:
    """Delete one of a user's custom models by its id."""
    from chatgate.custom_models import delete_custom_model
    from chatgate.users import find_user

    async def work(db: Database) -> None:
        owner = await find_user(db=db, username=username)
        await delete_custom_model(db=db, user_id=owner.id, custom_model_id=model_id)

    run_with_db(current_settings(), work)
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
