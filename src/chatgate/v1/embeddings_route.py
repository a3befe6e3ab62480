"""POST /v1/embeddings: OpenAI's embeddings, passed through to the providers
that have them in OpenAI's form (OpenAI, Azure, Mistral, custom models), with
``model`` in the answer set to the name the client asked for."""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from chatgate.chat import resolve_access
from chatgate.errors import ChatgateError, UpstreamError
from chatgate.identities import Identity
from chatgate.providers.chat import ChatRequest
from chatgate.providers.events import Usage
from chatgate.runtime import Runtime
from chatgate.upstream import post_for_json
from chatgate.usage.meter import RequestInfo, UsageMeter
from chatgate.v1.errors import InvalidField, openai_error_response
from chatgate.v1.names import resolve_model
from chatgate.web.body import ClientDisconnected, read_body
from chatgate.web.credentials import Credentials
from chatgate.web.headers import header

log = logging.getLogger(__name__)


def parse_embeddings_request(raw: bytes) -> dict[str, object]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidField(None, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise InvalidField(None, "The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidField("model", "you must provide a model parameter")
    if body.get("input") in (None, "", []):
        raise InvalidField("input", "'input' is a required property")
    return body


class EmbeddingsEndpoint:
    def __init__(self, runtime: Runtime, *, credentials: Credentials) -> None:
        self.runtime = runtime
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        request_id = scope.setdefault("state", {}).get("request_id", "-")
        meter: UsageMeter | None = None
        outcome = "cut_off"
        try:
            identity = await self.credentials.resolve(scope)
            scope["state"]["user_id"] = identity.owner.user_id
            await runtime.limiter.check_rate(identity.owner.user_id)
            await runtime.usage.quotas.check(identity.owner.user_id)
            raw = await read_body(
                receive,
                limit=runtime.settings.max_body_bytes,
                content_length=header(scope, b"content-length"),
            )
            body = parse_embeddings_request(raw)
            meter = UsageMeter(request_info(scope, identity, str(body["model"])), messages=[])
            answer = await self.embeddings(identity, body, meter)
            outcome = "complete"
            await Response(answer, media_type="application/json")(scope, receive, send)
        except ClientDisconnected:
            outcome = "client_gone"
        except ChatgateError as exc:
            outcome = str(exc.status)
            if exc.status >= 500:
                log.warning("%s", exc.message, extra={"request_id": request_id})
            await openai_error_response(exc)(scope, receive, send)
        except Exception:
            outcome = "500"
            log.exception("embeddings request failed", extra={"request_id": request_id})
            await openai_error_response(ChatgateError())(scope, receive, send)
        finally:
            if meter is not None and meter.upstream_called:
                runtime.usage.ledger.record(meter.finish(outcome))

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


def request_info(scope: Scope, identity: Identity, model: str) -> RequestInfo:
    owner = identity.owner
    return RequestInfo(
        user_id=owner.user_id,
        token_id=owner.token_id,
        sign_in="token" if owner.token_id is not None else "supabase",
        route=scope["path"],
        provider="",
        model=model,
        request_id=scope["state"].get("request_id", "-"),
    )
