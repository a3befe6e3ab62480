"""The server profile: a user's stored fields, opened, with the server's
environment laid over them (Chatbot UI's getServerProfile and checkApiKey)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from chatgate.crypto import (
    UNREADABLE,
    UNREADABLE_SHOWN,
    Keyring,
    Unreadable,
    mask_secret,
)
from chatgate.db.queries import Database
from chatgate.errors import ApiKeyNotFound, BadRequest, StoredKeyUnreadable
from chatgate.profile_fields import FIELDS_BY_NAME, MAX_FIELD_LENGTH, PROFILE_FIELDS
from chatgate.providers.urls import check_root_url

log = logging.getLogger(__name__)

SET_BY_SERVER = "set by the server"


@dataclass(frozen=True, slots=True)
class ServerProfile:
    user_id: int
    values: Mapping[str, SecretStr]  # only the fields that are set and readable
    # Stored fields no configured secret opens: each is reported as itself, and only
    # a request that needs it fails.
    unreadable: frozenset[str] = frozenset()
    from_server: frozenset[str] = frozenset()  # fields the server's environment supplies

    def get(self, field: str) -> SecretStr | None:
        if field in self.unreadable:
            raise StoredKeyUnreadable()
        return self.values.get(field)

    def plain_fields(self) -> dict[str, str]:
        """The non-secret fields that are set (organization, endpoint, deployments)."""
        return {
            name: value.get_secret_value()
            for name, value in self.values.items()
            if not FIELDS_BY_NAME[name].secret
        }

    def shown(self) -> dict[str, str | None]:
        """Every field as a user may see it: the server's values never, secrets by
        their last 4 characters at most, an unreadable field as such."""
        return {
            name: SET_BY_SERVER
            if name in self.from_server
            else mask(name, UNREADABLE if name in self.unreadable else self.values.get(name))
            for name in FIELDS_BY_NAME
        }


def seal_context(user_id: int, field: str) -> str:
    return f"profile:{user_id}:{field}"


@dataclass(frozen=True, slots=True)
class Overlay:
    values: dict[str, SecretStr | Unreadable]
    from_server: frozenset[str] = field(default_factory=frozenset)


def overlay_env(
    stored: Mapping[str, SecretStr | Unreadable], provider_env: Mapping[str, SecretStr]
) -> Overlay:
    """Stored values with the server's environment laid over them.

    A variable that is set (and non-empty) replaces its field for every user.

    The rule that keeps the operator's keys where the operator meant them to go:
    a secret the server supplies is never paired with a setting the user supplies.
    When the environment holds a provider's key, every other field of that provider
    comes from the environment too, or is absent: a user's Azure endpoint would
    receive the operator's key, a user's deployment names would pick among the
    operator's deployments, a user's OpenAI organization would bill the operator's
    key to another organization. An absent field is refused as any missing setting
    is (Azure: 400 ``Azure resources not found``). The other providers send their key
    only to the operator's base URLs (settings, never a user's), and custom models
    have no overlay at all: each holds its own key and URL.
    """
    server_keyed = {
        f.provider
        for f in PROFILE_FIELDS
        if f.secret and f.env_var in provider_env and provider_env[f.env_var].get_secret_value()
    }
    values = dict(stored)
    from_server = set()
    for f in PROFILE_FIELDS:
        env_value = provider_env.get(f.env_var)
        if env_value is not None and env_value.get_secret_value():
            values[f.name] = env_value
            from_server.add(f.name)
        elif f.provider in server_keyed:
            values.pop(f.name, None)
    return Overlay(values=values, from_server=frozenset(from_server))


def overridden_by_server(field_name: str, provider_env: Mapping[str, SecretStr]) -> bool:
    """Whether the server's environment replaces (or, by the rule above, drops) a stored field."""
    overlay = overlay_env({field_name: SecretStr("x")}, provider_env)
    return field_name in overlay.from_server or field_name not in overlay.values


async def open_profile(
    *, db: Database, keyring: Keyring, user_id: int
) -> dict[str, SecretStr | Unreadable]:
    """The user's stored fields, opened (UNREADABLE where no configured secret opens one)."""
    sealed = await db.get_sealed_profile(user_id=user_id)
    return {
        name: keyring.open_stored(value, context=seal_context(user_id, name))
        for name, value in sealed.items()
        if value
    }


async def load_profile(
    *,
    db: Database,
    keyring: Keyring,
    user_id: int,
    provider_env: Mapping[str, SecretStr],
) -> ServerProfile:
    stored = await open_profile(db=db, keyring=keyring, user_id=user_id)
    overlay = overlay_env(stored, provider_env)
    unreadable = frozenset(k for k, v in overlay.values.items() if isinstance(v, Unreadable))
    if unreadable:
        log.error(
            "user %s: %s do not open with the configured secret", user_id, ", ".join(unreadable)
        )
    return ServerProfile(
        user_id=user_id,
        values={k: v for k, v in overlay.values.items() if isinstance(v, SecretStr)},
        unreadable=unreadable,
        from_server=overlay.from_server,
    )


async def reseal_profiles(*, db: Database, keyring: Keyring) -> tuple[int, list[str]]:
    """Seal every stored field again with the keyring's current secret: how many, and
    which fields (``user 3: openai_api_key``) no configured secret opens."""
    count, unreadable = 0, []
    for user_id, sealed in await db.all_sealed_profiles():
        changes: dict[str, str | None] = {}
        for name, value in sealed.items():
            if not value or keyring.sealed_with_current(value):
                continue
            opened = keyring.open_stored(value, context=seal_context(user_id, name))
            if isinstance(opened, Unreadable):
                unreadable.append(f"user {user_id}: {name}")
                continue
            changes[name] = keyring.seal(
                opened.get_secret_value(), context=seal_context(user_id, name)
            )
        if changes:
            await db.update_profile(user_id=user_id, sealed=changes)
            count += len(changes)
    return count, unreadable


def check_api_key(value: SecretStr | None, provider_name: str) -> SecretStr:
    if value is None or not value.get_secret_value().strip():
        raise ApiKeyNotFound(provider_name)
    return value


def mask(field: str, value: SecretStr | Unreadable | None) -> str | None:
    """How a stored field is shown: secrets by their last 4 characters at most, and
    one that no longer opens as such."""
    if value is None:
        return None
    if isinstance(value, Unreadable):
        return UNREADABLE_SHOWN
    if not FIELDS_BY_NAME[field].secret:
        return value.get_secret_value()
    return mask_secret(value)


AZURE_ENDPOINT = "azure_openai_endpoint"


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
    if field == AZURE_ENDPOINT and value:
        # Refused now rather than at the first chat: the same check the chat makes.
        try:
            value = check_root_url(value)
        except ValueError as exc:
            raise BadRequest(f"{field} {exc}") from exc
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
    for name, raw in changes.items():
        value = validate_update(name, raw)
        sealed[name] = (
            None if value is None else keyring.seal(value, context=seal_context(user_id, name))
        )
    if sealed:
        await db.update_profile(user_id=user_id, sealed=sealed)
