"""POST /api/chat/<provider>: Chatbot UI's chat routes, one per provider.

A plain ASGI endpoint rather than a FastAPI route: it is the hot path, and the
framework's per-request and per-chunk machinery would cost more than the relay.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import orjson

from chatgate.auth import authenticate, bearer_token
from chatgate.custom_models import load_custom_model
from chatgate.errors import BadRequest, ChatgateError
from chatgate.identities import Identity
from chatgate.profiles import check_api_key, load_profile
from chatgate.providers import Provider
from chatgate.providers.chat import Access, ChatRequest
from chatgate.providers.sse import stream_text
from chatgate.runtime import Runtime
from chatgate.streaming import (
    ClientDisconnected,
    Receive,
    Scope,
    Send,
    StreamAborted,
    read_body,
    relay_until_disconnect,
    send_json,
)
from chatgate.usage.meter import RequestInfo, UsageMeter

log = logging.getLogger(__name__)


class ChatEndpoint:
    """One instance per provider of chatgate.providers.PROVIDERS."""

    def __init__(self, runtime: Runtime, provider: Provider) -> None:
        self.runtime = runtime
        self.provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime, provider = self.runtime, self.provider
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "-")
        # Usage: a meter once the request goes upstream; its row is recorded in `finally`.
        meter: UsageMeter | None = None
        outcome = "cut_off"
        try:
            token = bearer_token(header(scope, b"authorization"))
            identity = await runtime.identities.resolve(token, self.load_identity)
            owner = identity.owner
            state["user_id"] = owner.user_id
            await runtime.limiter.check_rate(owner.user_id)
            await runtime.usage.quotas.check(owner.user_id)
            body = await read_body(
                receive,
                limit=runtime.settings.max_body_bytes,
                content_length=header(scope, b"content-length"),
            )
            chat = parse_chat_body(body, custom_model=provider.key_field is None)
            if runtime.settings.log_content:
                content = orjson.dumps(chat.messages[-1])[:4000].decode(errors="ignore")
                log.info("prompt", extra={"request_id": request_id, "content": content})
            chat, access = await self.resolve_access(identity, chat)
            call = provider.build_call(chat, access)
            async with runtime.limiter.stream_slot(owner.user_id, request_id):
                meter = self.usage_meter(scope, identity, chat)
                pieces = stream_text(
                    runtime.http,
                    meter.metered_call(call),
                    policy=runtime.policy,
                    provider_name=provider.display_name,
                )
                with runtime.metrics.active_answers.track_inprogress():
                    await relay_until_disconnect(receive, send, pieces)
            outcome = "complete"
            runtime.metrics.answers_complete.inc()
        except ClientDisconnected:
            outcome = state["outcome"] = "client_gone"
            runtime.metrics.answers_client_gone.inc()
            log.info("client went away; upstream request closed", extra={"request_id": request_id})
        except StreamAborted as exc:
            outcome = state["outcome"] = "cut_off"
            runtime.metrics.answers_cut_off.inc()
            log.warning(
                "%s answer cut off mid-stream: %s",
                provider.name,
                exc,
                extra={"request_id": request_id},
            )
        except ChatgateError as exc:
            outcome = str(exc.status)
            if exc.status >= 500:
                log.warning("%s", exc.message, extra={"request_id": request_id})
            headers = [(k.lower().encode(), v.encode()) for k, v in exc.headers().items()]
            await send_json(send, exc.status, {"message": exc.message}, headers)
        except Exception:
            outcome = "500"
            log.exception(
                "chat request to %s failed", provider.name, extra={"request_id": request_id}
            )
            await send_json(send, 500, {"message": "An unexpected error occurred"}, [])
        finally:
            if meter is not None:
                runtime.usage.ledger.record(meter.finish(outcome))

    def usage_meter(self, scope: Scope, identity: Identity, chat: ChatRequest) -> UsageMeter:
        owner = identity.owner
        info = RequestInfo(
            user_id=owner.user_id,
            token_id=owner.token_id,
            sign_in="token",
            route=scope["path"],
            provider=self.provider.name,
            model=chat.model,
            request_id=scope["state"].get("request_id", "-"),
        )
        return UsageMeter(info, messages=chat.messages)

    async def load_identity(self, token: str) -> Identity:
        runtime = self.runtime
        owner = await authenticate(runtime.db, token)
        profile = await load_profile(
            db=runtime.db,
            keyring=runtime.keyring,
            user_id=owner.user_id,
            provider_env=runtime.settings.provider_env,
        )
        return Identity(owner=owner, profile=profile)

    async def resolve_access(
        self, identity: Identity, chat: ChatRequest
    ) -> tuple[ChatRequest, Access]:
        """Whose key, and where it goes: the profile (overlaid by the environment),
        or for the custom route the caller's own custom model."""
        runtime, provider = self.runtime, self.provider
        if provider.key_field is None:
            assert chat.custom_model_id is not None
            model = await load_custom_model(
                db=runtime.db,
                keyring=runtime.keyring,
                user_id=identity.owner.user_id,
                custom_model_id=chat.custom_model_id,
            )
            access = Access(
                api_key=model.api_key, base_url=model.base_url, options=runtime.provider_options
            )
            return replace(chat, model=model.model_id), access
        profile = identity.profile
        access = Access(
            api_key=check_api_key(profile.get(provider.key_field), provider.display_name),
            base_url=runtime.base_urls.get(provider.name, ""),
            profile=profile.plain_fields(),
            options=runtime.provider_options,
        )
        return chat, access


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def parse_chat_body(body: bytes, *, custom_model: bool = False) -> ChatRequest:
    """Chatbot UI's ``{chatSettings, messages}`` (and ``customModelId`` for the
    custom route); other fields are ignored."""
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
    custom_model_id = data.get("customModelId") if custom_model else None
    if custom_model and (not isinstance(custom_model_id, str) or not custom_model_id):
        raise BadRequest(
            "customModelId is missing"
            if custom_model_id is None
            else "customModelId must be a non-empty string"
        )
    return ChatRequest(
        model=model, temperature=temperature, messages=messages, custom_model_id=custom_model_id
    )
