"""Profiles and custom models where Chatbot UI keeps them: its own tables.

A user's keys are their ``public.profiles`` row (``user_id`` = the token's
``sub``), with the server's environment laid over it as Chatbot UI does; an
empty string is a key not set. A custom model is one the user owns, or one
shared (``sharing`` other than ``private``): the rows Chatbot UI's row-level
security lets that user read. Nothing is ever copied into chatgate's database
or written back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from chatgate.custom_models import ListedCustomModel
from chatgate.db.chatbot_ui import ChatbotUiDatabase
from chatgate.errors import BadRequest, NotFound
from chatgate.profiles import ServerProfile, overlay_env
from chatgate.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatbotUiCustomModel:
    id: str
    name: str
    base_url: str  # what /chat/completions is appended to
    api_key: SecretStr | None  # None: a server that needs no key
    model_id: str
    context_length: int


class ChatbotUiStore:
    def __init__(self, db: ChatbotUiDatabase) -> None:
        self.db = db

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatbotUiStore | None:
        """The store when ``CHATGATE_SUPABASE_DATABASE_URL`` is set; call ``start()``."""
        url = settings.supabase_database_url
        return cls(ChatbotUiDatabase.connect(url.get_secret_value())) if url else None

    async def start(self) -> None:
        await self.db.start()

    async def close(self) -> None:
        await self.db.close()

    async def load_profile(
        self, *, user_id: int, subject: str, provider_env: Mapping[str, SecretStr]
    ) -> ServerProfile:
        """The profile of the Supabase user ``subject``, for chatgate's user ``user_id``;
        404 ``Profile not found`` without a row."""
        subject_id = _uuid(subject)
        row = await self.db.profile_keys(user_id=subject_id) if subject_id else None
        if row is None:
            raise NotFound("Profile not found")
        stored = {
            name: SecretStr(value)
            for name, raw in row.items()
            if (value := _usable(raw, field=name, subject=subject))
        }
        overlay = overlay_env(stored, provider_env)
        return ServerProfile(
            user_id=user_id,
            values={k: v for k, v in overlay.values.items() if isinstance(v, SecretStr)},
            from_server=overlay.from_server,
        )

    async def list_custom_models(self, *, subject: str) -> list[ListedCustomModel]:
        """The models ``subject`` owns, oldest first: their own list, as chatgate's
        users have theirs. Models others share are used by id, never listed."""
        subject_id = _uuid(subject)
        if subject_id is None:
            return []
        return [
            ListedCustomModel(id=str(row.id), name=row.name, created_at=row.created_at)
            for row in await self.db.models_of(user_id=subject_id)
        ]

    async def load_custom_model(
        self, *, subject: str, custom_model_id: str
    ) -> ChatbotUiCustomModel:
        """The model if ``subject`` owns it or it is shared; 404 ``Custom model not found``
        for any other id, however malformed."""
        model_id = _uuid(custom_model_id)
        row = await self.db.model(model_id=model_id) if model_id else None
        if row is None or (row.sharing == "private" and str(row.user_id) != _canonical(subject)):
            raise NotFound("Custom model not found")
        parts = urlsplit(row.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadRequest("The custom model's base URL must be an http:// or https:// URL")
        key = _usable(row.api_key, field="custom model api_key", subject=subject)
        return ChatbotUiCustomModel(
            id=str(row.id),
            name=row.name,
            base_url=row.base_url.strip().rstrip("/"),
            api_key=SecretStr(key) if key else None,
            model_id=row.model_id.strip(),
            context_length=row.context_length,
        )


def _uuid(value: str) -> uuid.UUID | None:
    if len(value) > 45:  # the longest spelling: urn:uuid:<36 characters>
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _canonical(subject: str) -> str:
    subject_id = _uuid(subject)
    return str(subject_id) if subject_id else subject


def _usable(raw: str | None, *, field: str, subject: str) -> str | None:
    """A stored value, or None when it is not set ('' or NULL) or cannot be sent in a
    header (Chatbot UI does not check what users paste)."""
    value = (raw or "").strip()
    if not value:
        return None
    if not value.isprintable():
        log.warning(
            "user %s: %s in Chatbot UI's table is not one line of text: ignored", subject, field
        )
        return None
    return value
