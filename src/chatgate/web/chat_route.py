"""POST /api/chat/<provider>: Chatbot UI's chat routes, one per provider.

A plain ASGI endpoint rather than a FastAPI route: it is the hot path, and the
framework's per-request and per-chunk machinery would cost more than the relay.
Its steps: the credential, the rate limit, the body (read within its bound and
parsed), then the chat use case, relayed as it arrives.
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import Receive, Scope, Send

from chatgate.chat import answer
from chatgate.errors import ChatgateError
from chatgate.identities import Identity
from chatgate.providers import Provider
from chatgate.providers.chat import ChatRequest
from chatgate.runtime import Runtime
from chatgate.usage.meter import RequestInfo, UsageMeter
from chatgate.web.body import ClientDisconnected, read_body
from chatgate.web.chat_body import read_chat_body
from chatgate.web.credentials import Credentials
from chatgate.web.errors import error_response, unexpected_error_response
from chatgate.web.headers import header
from chatgate.web.relay import StreamAborted, relay_until_disconnect

log = logging.getLogger(__name__)


class ChatEndpoint:
    """One instance per provider of chatgate.providers.PROVIDERS."""

    def __init__(self, runtime: Runtime, provider: Provider, *, credentials: Credentials) -> None:
        self.runtime = runtime
        self.provider = provider
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime, provider = self.runtime, self.provider
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "-")
        # A meter once the request is on its way to the provider; its row is kept in `finally`.
        meter: UsageMeter | None = None
        outcome = "cut_off"
        try:
            identity = await self.credentials.resolve(scope)
            owner = identity.owner
            state["user_id"] = owner.user_id
            await runtime.limiter.check_rate(owner.user_id)
            await runtime.usage.quotas.check(owner.user_id)
            body = await read_body(
                receive,
                limit=runtime.settings.max_body_bytes,
                content_length=header(scope, b"content-length"),
            )
            chat = await read_chat_body(body, custom_model=provider.key_field is None)
            if runtime.settings.log_content:
                content = orjson.dumps(chat.messages[-1])[:4000].decode(errors="ignore")
                log.info("prompt", extra={"request_id": request_id, "content": content})
            async with runtime.limiter.stream_slot(owner.user_id, request_id):
                meter = self.usage_meter(scope, identity, chat)
                pieces = await answer(
                    runtime, identity=identity, provider=provider, chat=chat, meter=meter
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
            await error_response(exc)(scope, receive, send)
        except Exception as exc:
            outcome = "500"
            what = f"chat request to {provider.name}"
            await unexpected_error_response(exc, what=what, request_id=request_id)(
                scope, receive, send
            )
        finally:
            if meter is not None and meter.upstream_called:
                runtime.usage.ledger.record(meter.finish(outcome))

    def usage_meter(self, scope: Scope, identity: Identity, chat: ChatRequest) -> UsageMeter:
        owner = identity.owner
        info = RequestInfo(
            user_id=owner.user_id,
            token_id=owner.token_id,
            sign_in="token" if owner.token_id is not None else "supabase",
            route=scope["path"],
            provider=self.provider.name,
            model=chat.model,
            request_id=scope["state"].get("request_id", "-"),
        )
        return UsageMeter(info, messages=chat.messages)
