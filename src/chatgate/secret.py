"""The server's secret: where it comes from, and whether it is the one the
database's stored keys are sealed with (checked at start, not at the first chat)."""

from __future__ import annotations

from chatgate.crypto import Keyring, SecretUnavailable, load_secret
from chatgate.db.queries import Database
from chatgate.settings import Settings

CHECK_NAME = "secret_check"


def make_keyring(settings: Settings) -> Keyring:
    """Seals with the current secret; also opens what older secrets sealed."""
    current = load_secret(
        settings.secret_key, settings.data_dir, may_generate=settings.uses_default_database
    )
    return Keyring([current, *settings.previous_secret_keys])


async def check_secret(*, db: Database, keyring: Keyring) -> None:
    """Refuse a secret that did not seal this database's keys; a database that has
    no check value yet takes the current secret's."""
    stored = await db.get_meta(name=CHECK_NAME)
    if stored is None:
        await record_secret(db=db, keyring=keyring)
    elif not keyring.knows(stored):
        raise SecretUnavailable(
            "CHATGATE_SECRET_KEY is not the secret this database's keys are sealed with "
            "(during a rotation, put the old one in CHATGATE_PREVIOUS_SECRET_KEYS)"
        )


async def record_secret(*, db: Database, keyring: Keyring) -> None:
    """The current secret is now the database's (after everything was sealed with it)."""
    await db.set_meta(name=CHECK_NAME, value=keyring.check_value)
