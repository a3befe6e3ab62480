"""What every route that spends a provider's tokens does first: who asks, whether
their rate limit and token quota let them, and the request's body within its bound."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.types import Receive, Scope

from chatgate.identities import Identity
from chatgate.runtime import Runtime
from chatgate.usage.meter import RequestInfo, UsageMeter
from chatgate.web.body import read_body
from chatgate.web.credentials import Credentials
from chatgate.web.headers import header


async def admit(
    runtime: Runtime, credentials: Credentials, scope: Scope, receive: Receive
) -> tuple[Identity, bytes]:
    """The caller's identity and the request's body; raises the refusal otherwise.
    The body is read last: nobody's body is read before they are known and admitted."""
    identity = await credentials.resolve(scope)
    user_id = identity.owner.user_id
    scope["state"]["user_id"] = user_id  # for the access log
    await runtime.limiter.check_rate(user_id)
    await runtime.usage.quotas.check(user_id)
    body = await read_body(
        receive,
        limit=runtime.settings.max_body_bytes,
        content_length=header(scope, b"content-length"),
    )
    return identity, body


def meter_for(
    scope: Scope, identity: Identity, *, provider: str, model: str, messages: Sequence[Any] = ()
) -> UsageMeter:
    """The meter of one request; for /v1, the provider is set once the model name is resolved."""
    owner = identity.owner
    info = RequestInfo(
        user_id=owner.user_id,
        token_id=owner.token_id,
        sign_in="token" if owner.token_id is not None else "supabase",
        route=scope["path"],
        provider=provider,
        model=model,
        request_id=scope["state"].get("request_id", "-"),
    )
    return UsageMeter(info, messages=messages)
