"""Anthropic's messages API: OpenAI-style chat messages become a system
prompt and Anthropic content blocks; the answer is the text of its
``content_block_delta`` events, and ends with ``message_stop``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from chatgate.errors import BadRequest, UpstreamError
from chatgate.models import DEFAULT_MAX_TOKENS, rule_for
from chatgate.providers.chat import (
    Access,
    AnswerEnd,
    ChatRequest,
    UpstreamCall,
    only_status_401,
)
from chatgate.providers.images import image_url, split_data_url

# The status an in-band error event would have had as a response, so one that
# arrives before any text is still answered with a fitting status.
ERROR_STATUSES = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def content_block(part: Any, index: int) -> Any:
    """One part of an OpenAI message as an Anthropic content block."""
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if isinstance(part, dict) and part.get("type") == "image_url":
        url = image_url(part)
        data_url = split_data_url(url) if url else None
        if data_url is not None:
            media_type, data = data_url
            return {
                "type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data},
            }
        if url and url.startswith(("https://", "http://")):
            return {"type": "image", "source": {"type": "url", "url": url}}
        raise BadRequest(f"messages[{index}] has an image that is not a base64 data URL")
    return part  # text parts have the same shape in both APIs


def anthropic_message(message: dict[str, Any], index: int) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        blocks = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        blocks = [content_block(part, index) for part in content]
    else:
        raise BadRequest(f"messages[{index}].content must be text or a list of parts")
    return {"role": message.get("role"), "content": blocks}


def system_text(content: Any) -> str:
    if not isinstance(content, list):
        return content if isinstance(content, str) else ""
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            continue
        text = part.get("text", "")
        if not isinstance(text, str):
            raise BadRequest(f"messages[0].content[{index}].text must be text")
        texts.append(text)
    return "\n".join(texts)


def split_system(messages: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt (the front end's first message) and the conversation."""
    first = messages[0]
    if first.get("role") != "system":
        return "", [anthropic_message(m, i) for i, m in enumerate(messages)]
    rest = [anthropic_message(m, i) for i, m in enumerate(messages) if i]
    return system_text(first.get("content")), rest


def event_text(event: Any) -> str:
    """The text of a ``content_block_delta``; ``message_stop`` and ``error`` raise."""
    if not isinstance(event, dict):
        return ""
    kind = event.get("type")
    if kind == "content_block_delta":
        delta = event.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "text_delta":
            text = delta.get("text")
            return text if isinstance(text, str) else ""
        return ""
    if kind == "message_stop":
        raise AnswerEnd()
    if kind == "error":
        error = event.get("error")
        error = error if isinstance(error, dict) else {}
        message = error.get("message")
        raise UpstreamError(
            message if isinstance(message, str) and message else "Anthropic reported an error",
            status=ERROR_STATUSES.get(str(error.get("type")), 502),
        )
    return ""


def request_headers(access: Access) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "anthropic-version": access.options.anthropic_version,
    }
    if access.api_key is not None:
        headers["x-api-key"] = access.api_key.get_secret_value()
    return headers


def build_call(chat: ChatRequest, access: Access) -> UpstreamCall:
    system, messages = split_system(chat.messages)
    payload: dict[str, Any] = {"model": chat.model, "messages": messages}
    if system:
        payload["system"] = system
    if chat.temperature is not None:
        payload["temperature"] = chat.temperature
    # Anthropic requires max_tokens: the model's output limit, or a safe default.
    payload["max_tokens"] = rule_for(chat.model).max_tokens or DEFAULT_MAX_TOKENS
    payload["stream"] = True
    return UpstreamCall(
        url=access.base_url + "/v1/messages",
        headers=request_headers(access),
        body=orjson.dumps(payload),
        key_rejected=only_status_401,
        event_text=event_text,
    )
