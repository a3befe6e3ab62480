"""POST /v1/embeddings: OpenAI's embeddings, passed through to the providers
that have them in OpenAI's form (OpenAI, Azure, Mistral, custom models), with
``model`` in the answer set to the name the client asked for."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from chatgate.chat import resolve_access
from chatgate.errors import InvalidField, UpstreamError
from chatgate.identities import Identity
from chatgate.providers.chat import ChatRequest
from chatgate.providers.events import Usage
from chatgate.runtime import Runtime
from chatgate.upstream import post_for_json
from chatgate.usage.meter import UsageMeter
from chatgate.v1.names import resolve_model
from chatgate.v1.request import load_request
from chatgate.web.admission import admit, meter_for
from chatgate.web.credentials import Credentials
from chatgate.web.outcome import Answering

log = logging.getLogger(__name__)


def parse_embeddings_request(raw: bytes) -> dict[str, Any]:
    body = load_request(raw)
    if body.get("input") in (None, "", []):
        raise InvalidField("input", "'input' is a required property")
    return body


class EmbeddingsEndpoint:
    def __init__(self, runtime: Runtime, *, credentials: Credentials) -> None:
        self.runtime = runtime
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        async with Answering(runtime, scope, receive, send, what="embeddings") as answering:
            identity, raw = await admit(runtime, self.credentials, scope, receive)
            body = parse_embeddings_request(raw)
            answering.meter = meter = meter_for(
                scope, identity, provider="", model=str(body["model"])
            )
            answer = await self.embeddings(identity, body, meter)
            answering.outcome = "complete"
            await Response(answer, media_type="application/json")(scope, receive, send)

    async def embeddings(
        self, identity: Identity, body: dict[str, object], meter: UsageMeter
    ) -> bytes:
        runtime = self.runtime
        name = str(body["model"])
        choice = await resolve_model(runtime, identity=identity, name=name)
        provider = choice.provider
        if provider.embeddings is None:
            raise InvalidField(
                "model", f"{provider.display_name} has no embeddings in OpenAI's form"
            )
        chat = ChatRequest(
            model=choice.model,
            temperature=None,
            messages=(),
            custom_model_id=choice.custom_model_id,
        )
        chat, access = await resolve_access(
            runtime, identity=identity, provider=provider, chat=chat
        )
        call = provider.embeddings(body, chat.model, access)
        meter.info.provider = provider.name
        meter.metered_call(call, model=chat.model)
        raw = await post_for_json(
            runtime.http, call, policy=runtime.policy, provider_name=provider.display_name
        )
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamError(
                f"{provider.display_name} sent an answer that is not JSON"
            ) from None
        if isinstance(answer, dict):
            answer["model"] = name
            usage = answer.get("usage")
            if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
                meter.count_events([Usage(usage["prompt_tokens"], 0)])
        return orjson.dumps(answer)
