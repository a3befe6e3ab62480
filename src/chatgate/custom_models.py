"""Custom models: a user's own OpenAI-compatible servers (Chatbot UI's "models").

Each has a base URL, the model id to ask that server for, and an optional key
(local servers such as Ollama need none), sealed and bound to its owner and
model. A model is found only through its owner: another user's model is as
absent as one that does not exist.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from chatgate.crypto import Keyring, Unreadable
from chatgate.db.queries import Database, StoredCustomModel, utcnow
from chatgate.errors import BadRequest, NotFound, StoredKeyUnreadable
from chatgate.providers.urls import check_root_url

log = logging.getLogger(__name__)

KEY_UNREADABLE = (
    "The key stored for this custom model can no longer be decrypted (the server's secret "
    "changed). Please enter it again in the model's settings."
)


def _single_line(value: str) -> str:
    # Keys end up in HTTP headers: no control characters, no line breaks.
    if not value.isprintable():
        raise ValueError("must be printable text on one line")
    return value


Name = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_single_line)]
Description = Annotated[str, Field(max_length=500)]
BaseUrl = Annotated[
    str,
    Field(
        max_length=1000,
        description="The URL /chat/completions is appended to, e.g. http://localhost:11434/v1",
        examples=["http://localhost:11434/v1"],
    ),
    AfterValidator(check_root_url),
]
ApiKey = Annotated[
    str,
    Field(max_length=1000, description="Empty or absent for servers that need no key."),
    AfterValidator(_single_line),
]
ModelId = Annotated[
    str,
    Field(min_length=1, max_length=1000, examples=["llama3.1:8b"]),
    AfterValidator(_single_line),
]
ContextLength = Annotated[int, Field(ge=1, le=100_000_000, examples=[8192])]


class CustomModelFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    description: Description = ""
    base_url: BaseUrl
    api_key: ApiKey | None = None
    model_id: ModelId
    context_length: ContextLength


class CustomModelChanges(BaseModel):
    """Fields to change; an omitted field is unchanged, a null api_key clears it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    description: Description | None = None
    base_url: BaseUrl | None = None
    api_key: ApiKey | None = None
    model_id: ModelId | None = None
    context_length: ContextLength | None = None


@dataclass(frozen=True, slots=True)
class CustomModel:
    id: str
    name: str
    description: str
    base_url: str
    key: SecretStr | Unreadable | None
    model_id: str
    context_length: int
    created_at: datetime
    updated_at: datetime

    @property
    def api_key(self) -> SecretStr | None:
        """The key to send; a key no configured secret opens fails the request that needs it."""
        if isinstance(self.key, Unreadable):
            raise StoredKeyUnreadable(KEY_UNREADABLE)
        return self.key


@dataclass(frozen=True, slots=True)
class ListedCustomModel:
    """What a list of a user's custom models shows of one, wherever it is kept
    (chatgate's own table, or Chatbot UI's)."""

    id: str
    name: str
    created_at: datetime | None  # None: not known


def seal_context(user_id: int, custom_model_id: str) -> str:
    return f"custom_model:{user_id}:{custom_model_id}"


def _seal(keyring: Keyring, user_id: int, custom_model_id: str, key: str | None) -> str | None:
    return keyring.seal(key, context=seal_context(user_id, custom_model_id)) if key else None


def _opened(keyring: Keyring, stored: StoredCustomModel) -> CustomModel:
    key = (
        keyring.open_stored(stored.api_key, context=seal_context(stored.user_id, stored.id))
        if stored.api_key
        else None
    )
    if isinstance(key, Unreadable):
        log.error("user %s: the key of custom model %s does not open", stored.user_id, stored.id)
    return CustomModel(
        id=stored.id,
        name=stored.name,
        description=stored.description,
        base_url=stored.base_url,
        key=key,
        model_id=stored.model_id,
        context_length=stored.context_length,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


async def create_custom_model(
    *, db: Database, keyring: Keyring, user_id: int, fields: CustomModelFields
) -> CustomModel:
    custom_model_id = str(uuid.uuid4())
    now = utcnow()
    stored = StoredCustomModel(
        id=custom_model_id,
        user_id=user_id,
        name=fields.name,
        description=fields.description,
        base_url=fields.base_url,
        api_key=_seal(keyring, user_id, custom_model_id, fields.api_key),
        model_id=fields.model_id,
        context_length=fields.context_length,
        created_at=now,
        updated_at=now,
    )
    await db.create_custom_model(model=stored)
    return _opened(keyring, stored)


async def list_custom_models(*, db: Database, keyring: Keyring, user_id: int) -> list[CustomModel]:
    return [_opened(keyring, m) for m in await db.list_custom_models(user_id=user_id)]


async def load_custom_model(
    *, db: Database, keyring: Keyring, user_id: int, custom_model_id: str
) -> CustomModel:
    stored = await db.get_custom_model(user_id=user_id, custom_model_id=custom_model_id)
    if stored is None:
        raise NotFound("Custom model not found")
    return _opened(keyring, stored)


async def update_custom_model(
    *,
    db: Database,
    keyring: Keyring,
    user_id: int,
    custom_model_id: str,
    changes: CustomModelChanges,
) -> CustomModel:
    values: dict[str, object] = changes.model_dump(exclude_unset=True)
    if not values:
        raise BadRequest("Nothing to change: send at least one field")
    for field, value in values.items():
        if value is None and field != "api_key":
            raise BadRequest(f"{field} cannot be cleared")
    if "api_key" in values:
        key = values["api_key"]
        values["api_key"] = _seal(
            keyring, user_id, custom_model_id, key if isinstance(key, str) else None
        )
    if not await db.update_custom_model(
        user_id=user_id, custom_model_id=custom_model_id, values=values
    ):
        raise NotFound("Custom model not found")
    return await load_custom_model(
        db=db, keyring=keyring, user_id=user_id, custom_model_id=custom_model_id
    )


async def reseal_custom_model_keys(*, db: Database, keyring: Keyring) -> tuple[int, list[str]]:
    """Seal every stored custom model key again with the current secret: how many, and
    which (``user 3: custom model <id>``) no configured secret opens."""
    count, unreadable = 0, []
    for user_id, custom_model_id, sealed in await db.sealed_custom_model_keys():
        if keyring.sealed_with_current(sealed):
            continue
        context = seal_context(user_id, custom_model_id)
        opened = keyring.open_stored(sealed, context=context)
        if isinstance(opened, Unreadable):
            unreadable.append(f"user {user_id}: custom model {custom_model_id}")
            continue
        await db.update_custom_model(
            user_id=user_id,
            custom_model_id=custom_model_id,
            values={"api_key": keyring.seal(opened.get_secret_value(), context=context)},
        )
        count += 1
    return count, unreadable


async def delete_custom_model(*, db: Database, user_id: int, custom_model_id: str) -> None:
    if not await db.delete_custom_model(user_id=user_id, custom_model_id=custom_model_id):
        raise NotFound("Custom model not found")
