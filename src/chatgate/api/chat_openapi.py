"""The OpenAPI description of the chat routes, which FastAPI cannot see
(they are plain ASGI endpoints)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from chatgate.providers import Provider


class ChatSettingsDoc(BaseModel):
    model: str = Field(examples=["gpt-4o"])
    temperature: float | None = Field(default=None, ge=0, le=2, examples=[0.5])


class ChatBodyDoc(BaseModel):
    chatSettings: ChatSettingsDoc
    messages: list[dict[str, Any]] = Field(
        min_length=1,
        description=(
            "Chat messages as the front end builds them for the provider: OpenAI's "
            "{role, content} (image parts too), Gemini's {role, parts} for google."
        ),
        examples=[[{"role": "user", "content": "Hello"}]],
    )


class CustomChatBodyDoc(ChatBodyDoc):
    customModelId: str = Field(description="The id of one of the caller's custom models.")


_ERROR = {
    "description": "",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            }
        }
    },
}

_ERRORS = (
    (400, "Invalid body, or no API key in the profile"),
    (401, "Missing or invalid token, or the provider rejected the key"),
    (404, "No such custom model for this user (custom only)"),
    (413, "Body over the configured limit"),
    (429, "The provider's rate limit (Retry-After passed on)"),
    (502, "The provider could not be reached"),
    (504, "The provider did not answer in time"),
)


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for name, model in (("ChatBody", ChatBodyDoc), ("CustomChatBody", CustomChatBodyDoc)):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


def _operation(provider: Provider) -> dict[str, Any]:
    body = "CustomChatBody" if provider.key_field is None else "ChatBody"
    return {
        "tags": ["chat"],
        "summary": f"Stream a {provider.display_name} chat answer as plain text",
        "operationId": f"chat_{provider.name}",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        },
        "responses": {
            "200": {
                "description": "The answer text, streamed as it arrives.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **{str(status): {**_ERROR, "description": text} for status, text in _ERRORS},
        },
    }


def chat_openapi(providers: Iterable[Provider]) -> dict[str, Any]:
    """``paths`` and ``schemas`` to merge into the app's OpenAPI document."""
    return {
        "schemas": _schemas(),
        "paths": {f"/api/chat/{p.name}": {"post": _operation(p)} for p in providers},
    }
