"""OpenAI chat completions, and every server that speaks its wire format
(Mistral, Groq, Perplexity, OpenRouter, custom models; Azure's payload)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import SecretStr

from chatgate.errors import UpstreamError
from chatgate.models import rule_for
from chatgate.providers.chat import Access, ChatRequest, UpstreamCall, only_status_401


def build_payload(chat: ChatRequest, *, model: str) -> bytes:
    """The chat completion request; the rules are those of the model the user picked."""
    rule = rule_for(chat.model)
    payload: dict[str, Any] = {"model": model, "messages": chat.messages}
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
    if choices and isinstance(choices, list):
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        content = delta.get("content") if isinstance(delta, dict) else None
        if content and isinstance(content, str):
            return content
    # Only a chunk without text can be an in-band error (OpenRouter's come with
    # an empty choice), so the text path pays nothing for this check.
    error = event.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise UpstreamError(str(message or "The provider reported an error mid-answer"))
    return ""


def openai_key_rejected(status: int, message: str, code: str | None) -> bool:
    # OpenAI also answers 401 for a wrong organization: only this one is the key.
    return status == 401 and ("incorrect api key" in message.lower() or code == "invalid_api_key")


def build_call(chat: ChatRequest, access: Access) -> UpstreamCall:
    """OpenAI itself: the organization header, and its own wrong-key answer."""
    return UpstreamCall(
        url=access.base_url + "/chat/completions",
        headers=request_headers(access.api_key, access.profile.get("openai_organization_id")),
        body=build_payload(chat, model=chat.model),
        key_rejected=openai_key_rejected,
        event_text=delta_text,
    )


def build_compatible_call(chat: ChatRequest, access: Access) -> UpstreamCall:
    """An OpenAI-compatible server: the key is its only credential, so any 401
    means the key was refused; no key (a local server) sends no Authorization."""
    return UpstreamCall(
        url=access.base_url + "/chat/completions",
        headers=request_headers(access.api_key, None),
        body=build_payload(chat, model=chat.model),
        key_rejected=only_status_401,
        event_text=delta_text,
    )
