"""Sealing and opening stored provider keys.

A sealed value is ``cg1.<key id>.<base64url(nonce + AES-256-GCM ciphertext)>``.
The associated data binds it to its owner and field, so a sealed key copied
into another user's row (or another column) does not open. The key id lets a
keyring hold the old and the new secret while ``chatgate secret rotate``
re-seals everything.

A check value (an HMAC of a constant under another key derived from the secret)
is kept in the database, so that a wrong secret is found at start rather than
at the first chat; it helps nobody guess the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

log = logging.getLogger(__name__)

PREFIX = "cg1"
SECRET_FILE = "secret.key"  # noqa: S105 - a file name


class SealError(Exception):
    """A sealed value could not be opened (wrong secret, or tampered with)."""


class SecretUnavailable(Exception):
    """No usable secret: the process must not start (the message is one line for the operator)."""


class Unreadable:
    """A stored value that does not open with any configured secret."""

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE = Unreadable()


def _hkdf(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def _derive(secret: str) -> tuple[str, AESGCM]:
    key = _hkdf(secret, b"chatgate provider keys v1")
    key_id = hashlib.sha256(key).hexdigest()[:8]
    return key_id, AESGCM(key)


def _check_value(secret: str) -> str:
    key = _hkdf(secret, b"chatgate secret check v1")
    return "v1:" + hmac.new(key, b"chatgate checks its secret", hashlib.sha256).hexdigest()


class Keyring:
    """Seals with the first secret; opens with any of them."""

    def __init__(self, secrets_: Iterable[SecretStr]) -> None:
        plain = [s.get_secret_value() for s in secrets_]
        if not plain:
            raise ValueError("a keyring needs at least one secret")
        derived = [_derive(s) for s in plain]
        self._seal_id, self._seal_aead = derived[0]
        self._by_id = dict(derived)
        self._checks = [_check_value(s) for s in plain]

    @property
    def key_id(self) -> str:
        return self._seal_id

    @property
    def check_value(self) -> str:
        """The current secret's check value, safe to store beside the sealed values."""
        return self._checks[0]

    def knows(self, check_value: str) -> bool:
        """Whether one of the keyring's secrets made this check value."""
        return any(hmac.compare_digest(check_value, mine) for mine in self._checks)

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        blob = nonce + self._seal_aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}.{self._seal_id}.{base64.urlsafe_b64encode(blob).decode()}"

    def open(self, sealed: str, *, context: str) -> SecretStr:
        try:
            prefix, key_id, payload = sealed.split(".", 2)
            aead = self._by_id[key_id]
            blob = base64.urlsafe_b64decode(payload)
            plain = aead.decrypt(blob[:12], blob[12:], context.encode())
        except (ValueError, KeyError, InvalidTag) as exc:
            raise SealError("a stored key could not be opened with the configured secret") from exc
        if prefix != PREFIX:
            raise SealError("unknown sealed format")
        return SecretStr(plain.decode())

    def sealed_with_known(self, sealed: str) -> bool:
        """Whether one of the keyring's secrets sealed this value (by its key id)."""
        return sealed.split(".", 2)[1:2] in ([key_id] for key_id in self._by_id)

    def sealed_with_current(self, sealed: str) -> bool:
        return sealed.split(".", 2)[1:2] == [self._seal_id]

    def open_stored(self, sealed: str, *, context: str) -> SecretStr | Unreadable:
        """A stored value, or UNREADABLE when no configured secret opens it: one such
        value is reported as itself, and never stops the others from being read."""
        try:
            return self.open(sealed, context=context)
        except SealError:
            return UNREADABLE


def mask_secret(value: SecretStr) -> str:
    """A key as it may be shown: its last 4 characters, and only when it is long
    enough that they give little of it away."""
    plain = value.get_secret_value()
    return "****" + plain[-4:] if len(plain) >= 12 else "****"


UNREADABLE_SHOWN = "unreadable: enter it again"


def shown_secret(value: SecretStr | Unreadable | None) -> str | None:
    """A stored secret as it may be shown: masked, or marked as no longer readable."""
    if isinstance(value, Unreadable):
        return UNREADABLE_SHOWN
    return None if value is None else mask_secret(value)


def load_secret(configured: SecretStr | None, data_dir: Path, *, may_generate: bool) -> SecretStr:
    """The configured secret, or one generated once into the data directory when
    ``may_generate`` (the SQLite database in that directory: the two live and go together)."""
    if configured is not None and configured.get_secret_value():
        return configured
    if not may_generate:
        raise SecretUnavailable(
            "CHATGATE_SECRET_KEY is not set: it is required with CHATGATE_DATABASE_URL "
            "(a secret is generated only for the SQLite database in CHATGATE_DATA_DIR)"
        )
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return SecretStr(path.read_text().strip())
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        log.warning(
            "CHATGATE_SECRET_KEY is not set: generated %s; set CHATGATE_SECRET_KEY in production "
            "and keep it apart from the database",
            path,
        )
    return SecretStr(path.read_text().strip())
