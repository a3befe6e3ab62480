"""POST /api/chat/openai: Chatbot UI's chat route.

A plain ASGI endpoint rather than a FastAPI route: it is the hot path, and the
framework's per-request and per-chunk machinery would cost more than the relay.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import BaseModel, Field

from chatgate.auth import authenticate, bearer_token
from chatgate.errors import BadRequest, ChatgateError
from chatgate.profiles import check_api_key, load_profile
from chatgate.providers import openai
from chatgate.providers.openai import ChatRequest
from chatgate.runtime import Runtime
from chatgate.streaming import (
    ClientDisconnected,
    Receive,
    Send,
    StreamAborted,
    read_body,
    relay_until_disconnect,
    send_json,
)

log = logging.getLogger(__name__)

Scope = dict[str, Any]


class ChatEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime, settings = self.runtime, self.runtime.settings
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "-")
        try:
            token = bearer_token(header(scope, b"authorization"))
            owner = await authenticate(runtime.db, token)
            state["user_id"] = owner.user_id
            await runtime.limiter.check_rate(owner.user_id)
            body = await read_body(
                receive,
                limit=settings.max_body_bytes,
                content_length=header(scope, b"content-length"),
            )
            chat = parse_chat_body(body)
            if settings.log_content:
                content = orjson.dumps(chat.messages[-1])[:4000].decode(errors="ignore")
                log.info("prompt", extra={"request_id": request_id, "content": content})
            profile = await load_profile(
                db=runtime.db,
                keyring=runtime.keyring,
                user_id=owner.user_id,
                provider_env=settings.provider_env,
            )
            pieces = openai.stream_chat(
                runtime.http,
                base_url=settings.openai_base_url,
                api_key=check_api_key(profile.get("openai_api_key"), "OpenAI"),
                organization=profile.plain("openai_organization_id"),
                body=openai.build_payload(chat),
                policy=runtime.policy,
            )
            async with runtime.limiter.stream_slot(owner.user_id, request_id):
                with runtime.metrics.active_answers.track_inprogress():
                    await relay_until_disconnect(receive, send, pieces)
            runtime.metrics.answers_complete.inc()
        except ClientDisconnected:
            state["outcome"] = "client_gone"
            runtime.metrics.answers_client_gone.inc()
            log.info("client went away; upstream request closed", extra={"request_id": request_id})
        except StreamAborted as exc:
            state["outcome"] = "cut_off"
            runtime.metrics.answers_cut_off.inc()
            log.warning("answer cut off mid-stream: %s", exc, extra={"request_id": request_id})
        except ChatgateError as exc:
            if exc.status >= 500:
                log.warning("%s", exc.message, extra={"request_id": request_id})
            headers = [(k.lower().encode(), v.encode()) for k, v in exc.headers().items()]
            await send_json(send, exc.status, {"message": exc.message}, headers)
        except Exception:
            log.exception("chat request failed", extra={"request_id": request_id})
            await send_json(send, 500, {"message": "An unexpected error occurred"}, [])


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def parse_chat_body(body: bytes) -> ChatRequest:
    """Chatbot UI's ``{chatSettings, messages}``; other fields are ignored."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("Request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object with chatSettings and messages")
    settings = data.get("chatSettings")
    if not isinstance(settings, dict):
        raise BadRequest(
            "chatSettings is missing" if settings is None else "chatSettings must be an object"
        )
    model = settings.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("chatSettings.model must be a non-empty string")
    temperature = settings.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise BadRequest("chatSettings.temperature must be a number from 0 to 2")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(
            "messages is missing" if messages is None else "messages must be a non-empty list"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequest(f"messages[{index}] must be an object with role and content")
    return ChatRequest(model=model, temperature=temperature, messages=messages)


class ChatSettingsDoc(BaseModel):
    model: str = Field(examples=["gpt-4o"])
    temperature: float | None = Field(default=None, ge=0, le=2, examples=[0.5])


class ChatBodyDoc(BaseModel):
    chatSettings: ChatSettingsDoc
    messages: list[dict[str, Any]] = Field(
        min_length=1,
        description="OpenAI chat messages, passed to the provider untouched (image parts too).",
        examples=[[{"role": "user", "content": "Hello"}]],
    )


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

_BODY_SCHEMA = ChatBodyDoc.model_json_schema(ref_template="#/components/schemas/{model}")

CHAT_OPENAPI: dict[str, Any] = {
    "schemas": {**_BODY_SCHEMA.pop("$defs"), "ChatBody": _BODY_SCHEMA},
    "paths": {
        "/api/chat/openai": {
            "post": {
                "tags": ["chat"],
                "summary": "Stream an OpenAI chat completion as plain text",
                "operationId": "chat_openai",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ChatBody"}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "The answer text, streamed as it arrives.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **{
                        str(status): {**_ERROR, "description": text}
                        for status, text in (
                            (400, "Invalid body, or no API key in the profile"),
                            (401, "Missing or invalid token, or the provider rejected the key"),
                            (413, "Body over the configured limit"),
                            (429, "The provider's rate limit (Retry-After passed on)"),
                            (502, "The provider could not be reached"),
                            (504, "The provider did not answer in time"),
                        )
                    },
                },
            }
        }
    },
}
