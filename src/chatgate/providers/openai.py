"""OpenAI chat completions (and every server that speaks its wire format)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from chatgate.errors import StreamBroken, UpstreamError
from chatgate.models import rule_for
from chatgate.providers.upstream import (
    UpstreamPolicy,
    iter_sse_data,
    openai_key_rejected,
    post_for_stream,
    set_idle_timeout,
)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the front end asked for: the model settings and the messages as sent."""

    model: str
    temperature: float | None
    messages: Sequence[Any]


def build_payload(chat: ChatRequest) -> bytes:
    rule = rule_for(chat.model)
    payload: dict[str, Any] = {"model": chat.model, "messages": chat.messages}
    if rule.temperature and chat.temperature is not None:
        payload["temperature"] = chat.temperature
    if rule.max_tokens is not None:
        payload["max_tokens"] = rule.max_tokens
    payload["stream"] = True
    return orjson.dumps(payload)


def request_headers(api_key: SecretStr | None, organization: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if api_key is not None:
        headers["Authorization"] = "Bearer " + api_key.get_secret_value()
    if organization:
        headers["OpenAI-Organization"] = organization
    return headers


def delta_text(event: Any) -> str:
    """``choices[0].delta.content`` of a chunk, or "" for chunks that carry none
    (usage chunks, Azure's content-filter chunks, role-only deltas)."""
    if not isinstance(event, dict):
        return ""
    choices = event.get("choices")
    if not choices or not isinstance(choices, list):
        error = event.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise UpstreamError(str(message or "The provider reported an error mid-answer"))
        return ""
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


async def stream_chat(
    http: aiohttp.ClientSession,
    *,
    base_url: str,
    api_key: SecretStr | None,
    organization: str | None,
    body: bytes,
    policy: UpstreamPolicy,
    provider_name: str = "OpenAI",
) -> AsyncGenerator[str, None]:
    """The answer's text, one piece per read off the wire."""
    response = await post_for_stream(
        http,
        url=base_url + "/chat/completions",
        headers=request_headers(api_key, organization),
        body=body,
        policy=policy,
        provider_name=provider_name,
        key_rejected=openai_key_rejected,
    )
    started = False
    try:
        async for payloads in iter_sse_data(response, provider_name=provider_name):
            parts: list[str] = []
            failure: UpstreamError | None = None
            for payload in payloads:
                if payload == b"[DONE]":
                    break
                try:
                    text = delta_text(orjson.loads(payload))
                except orjson.JSONDecodeError as exc:
                    failure = StreamBroken(f"{provider_name} sent a malformed event")
                    failure.__cause__ = exc
                    break
                except UpstreamError as exc:
                    failure = exc
                    break
                if text:
                    parts.append(text)
            if failure is not None:
                # The text that came before the failure still reaches the client.
                if parts:
                    yield "".join(parts)
                raise failure
            if parts:
                if not started:
                    started = True
                    set_idle_timeout(response, policy.idle_timeout)
                yield "".join(parts)
    finally:
        if response.content.is_eof():
            response.release()  # a finished answer: the connection goes back to the pool
        else:
            response.close()  # an unfinished one must stop the upstream, not be drained
