"""The server's secret: where it comes from, and whether it is the one the
database's stored keys are sealed with (checked at start, not at the first chat)."""

from __future__ import annotations

from chatgate.crypto import Keyring, SecretUnavailable, load_secret
from chatgate.db.queries import Database
from chatgate.settings import Settings

CHECK_NAME = "secret_check"
MISMATCH = (
    "CHATGATE_SECRET_KEY is not the secret this database's keys are sealed with "
    "(during a rotation, put the old one in CHATGATE_PREVIOUS_SECRET_KEYS)"
)


def make_keyring(settings: Settings) -> Keyring:
    """Seals with the current secret; also opens what older secrets sealed."""
    current = load_secret(
        settings.secret_key, settings.data_dir, may_generate=settings.uses_default_database
    )
    return Keyring([current, *settings.previous_secret_keys])


async def check_secret(*, db: Database, keyring: Keyring) -> None:
    """Refuse a secret that did not seal this database's keys. A database without a
    check value yet (new, or kept by an older chatgate) takes the current secret's, once
    a stored value, if there is one, shows that the keyring knows its secret."""
    stored = await db.get_meta(name=CHECK_NAME)
    if stored is None:
        sample = await db.any_sealed_value()
        if sample is not None and not keyring.sealed_with_known(sample):
            raise SecretUnavailable(MISMATCH)
        await record_secret(db=db, keyring=keyring)
    elif not keyring.knows(stored):
        raise SecretUnavailable(MISMATCH)


async def record_secret(*, db: Database, keyring: Keyring) -> None:
    """The current secret is now the database's (after everything was sealed with it)."""
    await db.set_meta(name=CHECK_NAME, value=keyring.check_value)
