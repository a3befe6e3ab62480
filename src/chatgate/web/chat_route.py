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
from chatgate.providers import Provider
from chatgate.runtime import Runtime
from chatgate.upstream import EndSeen
from chatgate.web.admission import admit, meter_for
from chatgate.web.chat_body import read_chat_body
from chatgate.web.credentials import Credentials
from chatgate.web.outcome import Answering
from chatgate.web.relay import relay_text, until_disconnect

log = logging.getLogger(__name__)


class ChatEndpoint:
    """One instance per provider of chatgate.providers.PROVIDERS."""

    def __init__(self, runtime: Runtime, provider: Provider, *, credentials: Credentials) -> None:
        self.runtime = runtime
        self.provider = provider
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime, provider = self.runtime, self.provider
        what = f"{provider.name} answer"
        async with Answering(runtime, scope, receive, send, what=what) as answering:
            identity, body = await admit(runtime, self.credentials, scope, receive)
            chat = await read_chat_body(body, custom_model=provider.key_field is None)
            if runtime.settings.log_content:
                content = orjson.dumps(chat.messages[-1])[:4000].decode(errors="ignore")
                log.info("prompt", extra={"request_id": answering.request_id, "content": content})
            async with runtime.limiter.stream_slot(identity.owner.user_id, answering.request_id):
                answering.meter = meter = meter_for(
                    scope,
                    identity,
                    provider=provider.name,
                    model=chat.model,
                    messages=chat.messages,
                )
                end = EndSeen()
                pieces = await answer(
                    runtime, identity=identity, provider=provider, chat=chat, meter=meter, end=end
                )
                # The request, raw and parsed, is up to CHATGATE_MAX_BODY_BYTES of conversation
                # (and images): it is not held for as long as the answer streams.
                del body, chat
                with runtime.metrics.active_answers.track_inprogress():
                    await until_disconnect(receive, relay_text(send, pieces, end), end)
            answering.complete()
