"""Sealing and opening stored provider keys.

A sealed value is ``cg1.<key id>.<base64url(nonce + AES-256-GCM ciphertext)>``.
The associated data binds it to its owner and field, so a sealed key copied
into another user's row (or another column) does not open. The key id lets a
keyring hold the old and the new secret while ``chatgate secret rotate``
re-seals everything.
"""

from __future__ import annotations

import base64
import hashlib
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


def _derive(secret: str) -> tuple[str, AESGCM]:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"chatgate provider keys v1"
    ).derive(secret.encode())
    key_id = hashlib.sha256(key).hexdigest()[:8]
    return key_id, AESGCM(key)


class Keyring:
    """Seals with the first secret; opens with any of them."""

    def __init__(self, secrets_: Iterable[SecretStr]) -> None:
        derived = [_derive(s.get_secret_value()) for s in secrets_]
        if not derived:
            raise ValueError("a keyring needs at least one secret")
        self._seal_id, self._seal_aead = derived[0]
        self._by_id = dict(derived)

    @property
    def key_id(self) -> str:
        return self._seal_id

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

    def sealed_with_current(self, sealed: str) -> bool:
        return sealed.split(".", 2)[1:2] == [self._seal_id]


def mask_secret(value: SecretStr) -> str:
    """A key as it may be shown: its last 4 characters, and only when it is long
    enough that they give little of it away."""
    plain = value.get_secret_value()
    return "****" + plain[-4:] if len(plain) >= 12 else "****"


def load_secret(configured: SecretStr | None, data_dir: Path) -> SecretStr:
    """The configured secret, or one generated once into the data directory."""
    if configured is not None and configured.get_secret_value():
        return configured
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
