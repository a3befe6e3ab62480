"""The OpenAPI document: FastAPI's, with the chat routes added (they are plain
ASGI endpoints, which FastAPI cannot see). Their bodies' schemas come from the
very descriptions that parse them (``chat_body``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from chatgate.providers import Provider
from chatgate.web.chat_body import CHAT_BODY, CUSTOM_CHAT_BODY

_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"message": {"type": "string"}},
            "required": ["message"],
        }
    }
}

_CHAT_ERRORS = (
    (400, "Invalid body, or no API key in the profile"),
    (401, "Missing or invalid token, or the provider rejected the key"),
    (404, "No such custom model for this user (custom only)"),
    (413, "Body over the configured limit"),
    (429, "The provider's rate limit (Retry-After passed on)"),
    (502, "The provider could not be reached"),
    (504, "The provider did not answer in time"),
)


def _chat_operation(provider: Provider) -> dict[str, Any]:
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
            **{str(code): {"description": text, "content": _ERROR} for code, text in _CHAT_ERRORS},
        },
    }


def install_openapi(app: FastAPI, providers: Iterable[Provider]) -> None:
    """Make ``app.openapi()`` (and /openapi.json, /docs) describe the chat routes too."""
    chat_paths = {f"/api/chat/{p.name}": {"post": _chat_operation(p)} for p in providers}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema["paths"].update(chat_paths)
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(
                ChatBody=CHAT_BODY.schema(), CustomChatBody=CUSTOM_CHAT_BODY.schema()
            )
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
