"""The secret: generated only beside the default SQLite database, at least 32
characters, and checked against the database's check value."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from pydantic import SecretStr

from chatgate.crypto import Keyring, SecretUnavailable
from chatgate.db.migrate import alembic_config
from chatgate.db.schema import REVISIONS
from chatgate.secret import make_keyring
from chatgate.settings import load_settings

OLD = SecretStr("the-old-secret-of-this-database-0001")
NEW = SecretStr("the-new-secret-of-this-database-0002")


def test_a_secret_is_generated_only_for_the_default_sqlite_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    elsewhere = {
        "CHATGATE_DATA_DIR": str(data),
        "CHATGATE_DATABASE_URL": "postgresql://chatgate@db.example/chatgate",
    }
    with pytest.raises(SecretUnavailable, match="CHATGATE_SECRET_KEY is not set"):
        make_keyring(load_settings(elsewhere))
    assert not (data / "secret.key").exists()

    make_keyring(load_settings({"CHATGATE_DATA_DIR": str(data)}))
    assert (data / "secret.key").exists()
    explicit_default = {
        "CHATGATE_DATA_DIR": str(data),
        "CHATGATE_DATABASE_URL": f"sqlite:///{(data / 'chatgate.db').resolve()}",
    }
    assert make_keyring(load_settings(explicit_default)).key_id


def test_the_check_value_knows_its_secrets_and_gives_none_away() -> None:
    old, rotating, new = Keyring([OLD]), Keyring([NEW, OLD]), Keyring([NEW])
    assert old.check_value != new.check_value
    assert rotating.knows(old.check_value)
    assert rotating.knows(new.check_value)
    assert not new.knows(old.check_value)
    assert OLD.get_secret_value() not in old.check_value
    assert old.key_id not in old.check_value
    assert Keyring([OLD]).check_value == old.check_value  # stable across processes


def test_the_schema_revisions_are_the_migrations() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert tuple(revisions) == REVISIONS
