"""The server profile: a user's stored fields, opened, with the server's
environment laid over them (Chatbot UI's getServerProfile and checkApiKey)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from chatgate.crypto import Keyring, SealError, mask_secret
from chatgate.db.queries import Database
from chatgate.errors import ApiKeyNotFound, BadRequest, StoredKeyUnreadable
from chatgate.profile_fields import FIELDS_BY_NAME, MAX_FIELD_LENGTH, PROFILE_FIELDS

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerProfile:
    user_id: int
    values: Mapping[str, SecretStr]  # only the fields that are set

    def get(self, field: str) -> SecretStr | None:
        return self.values.get(field)

    def plain_fields(self) -> dict[str, str]:
        """The non-secret fields that are set (organization, endpoint, deployments)."""
        return {
            name: value.get_secret_value()
            for name, value in self.values.items()
            if not FIELDS_BY_NAME[name].secret
        }


def seal_context(user_id: int, field: str) -> str:
    return f"profile:{user_id}:{field}"


def overlay_env(
    stored: Mapping[str, SecretStr], provider_env: Mapping[str, SecretStr]
) -> dict[str, SecretStr]:
    """Stored values, each replaced by its environment variable when that is set."""
    values = dict(stored)
    for field in PROFILE_FIELDS:
        env_value = provider_env.get(field.env_var)
        if env_value is not None and env_value.get_secret_value():
            values[field.name] = env_value
    return values


async def load_profile(
    *,
    db: Database,
    keyring: Keyring,
    user_id: int,
    provider_env: Mapping[str, SecretStr],
) -> ServerProfile:
    sealed = await db.get_sealed_profile(user_id=user_id)
    try:
        stored = {
            name: keyring.open(value, context=seal_context(user_id, name))
            for name, value in sealed.items()
            if value
        }
    except SealError as exc:
        log.error("user %s: a stored key does not open with the configured secret", user_id)
        raise StoredKeyUnreadable() from exc
    return ServerProfile(user_id=user_id, values=overlay_env(stored, provider_env))


async def reseal_profiles(*, db: Database, keyring: Keyring) -> int:
    """Seal every stored field again with the keyring's current secret; returns how many."""
    count = 0
    for user_id, sealed in await db.all_sealed_profiles():
        changes = {
            name: keyring.seal(
                keyring.open(value, context=seal_context(user_id, name)).get_secret_value(),
                context=seal_context(user_id, name),
            )
            for name, value in sealed.items()
            if value and not keyring.sealed_with_current(value)
        }
        if changes:
            await db.update_profile(user_id=user_id, sealed=changes)
            count += len(changes)
    return count


def check_api_key(value: SecretStr | None, provider_name: str) -> SecretStr:
    if value is None or not value.get_secret_value().strip():
        raise ApiKeyNotFound(provider_name)
    return value


def mask(field: str, value: SecretStr | None) -> str | None:
    """How a stored field is shown: secrets by their last 4 characters at most."""
    if value is None:
        return None
    if not FIELDS_BY_NAME[field].secret:
        return value.get_secret_value()
    return mask_secret(value)


def validate_update(field: str, value: str | None) -> str | None:
    """A field's new value; None or empty clears it."""
    if field not in FIELDS_BY_NAME:
        raise BadRequest(f"Unknown profile field {field!r}")
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_FIELD_LENGTH:
        raise BadRequest(f"{field} is longer than {MAX_FIELD_LENGTH} characters")
    if not value.isprintable():
        # Keys end up in HTTP headers: no control characters, no line breaks.
        raise BadRequest(f"{field} must be printable text on one line")
    return value or None


async def update_profile(
    *,
    db: Database,
    keyring: Keyring,
    user_id: int,
    changes: Mapping[str, str | None],
) -> None:
    """Seal and store the given fields (None clears one)."""
    sealed: dict[str, str | None] = {}
    for field, raw in changes.items():
        value = validate_update(field, raw)
        sealed[field] = (
            None if value is None else keyring.seal(value, context=seal_context(user_id, field))
        )
    if sealed:
        await db.update_profile(user_id=user_id, sealed=sealed)
