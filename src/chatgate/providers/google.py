"""Google Gemini's streamGenerateContent: the front end's Gemini-shaped
messages (``{role, parts}``) become the contents, the last one the user's
turn; the answer is the text of each candidate chunk, and ends with a
candidate that has a ``finishReason``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from chatgate.errors import BadRequest, UpstreamError
from chatgate.providers.chat import Access, AnswerEnd, ChatRequest, UpstreamCall
from chatgate.providers.images import image_url, split_data_url

# The model goes into the URL path: nothing that could add a segment or a query.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ROLES = {"user": "user", "model": "model", "assistant": "model", "system": "user"}
# Finish reasons that mean Gemini withheld the answer rather than finished it.
WITHHELD = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"})


def openai_parts(content: Any, index: int) -> list[dict[str, Any]]:
    """An OpenAI message's content as Gemini parts, for clients that send that shape."""
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise BadRequest(f"messages[{index}].content must be text or a list of parts")
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            parts.append({"text": part})
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append({"text": str(part.get("text", ""))})
        elif isinstance(part, dict) and part.get("type") == "image_url":
            url = image_url(part)
            data_url = split_data_url(url) if url else None
            if data_url is None:
                raise BadRequest(f"messages[{index}] has an image that is not a base64 data URL")
            parts.append({"inlineData": {"mimeType": data_url[0], "data": data_url[1]}})
        else:
            raise BadRequest(f"messages[{index}] has a part Google Gemini cannot take")
    return parts


def gemini_content(message: dict[str, Any], index: int) -> dict[str, Any]:
    role = ROLES.get(str(message.get("role")))
    if role is None:
        raise BadRequest(f"messages[{index}].role must be user or model")
    parts = message.get("parts")
    if parts is None and "content" in message:
        parts = openai_parts(message["content"], index)
    elif isinstance(parts, str):
        parts = [{"text": parts}]
    elif not isinstance(parts, list):
        raise BadRequest(f"messages[{index}].parts must be a list of parts")
    return {"role": role, "parts": parts}


def build_contents(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """All but the last message are the history; as the Gemini SDK's
    sendMessage does, the last one's parts are sent as the user's turn."""
    contents = [gemini_content(message, index) for index, message in enumerate(messages)]
    contents[-1] = {"role": "user", "parts": contents[-1]["parts"]}
    return contents


def event_text(event: Any) -> str:
    """The text of a candidate chunk; the last one (with a ``finishReason``),
    an error or a withheld answer raises."""
    if not isinstance(event, dict):
        return ""
    candidates = event.get("candidates")
    if candidates and isinstance(candidates, list) and isinstance(candidates[0], dict):
        candidate = candidates[0]
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        text = ""
        if isinstance(parts, list):
            text = "".join(
                p["text"]
                for p in parts
                if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
            )
        reason = candidate.get("finishReason")
        if reason:
            if not text and reason in WITHHELD:
                raise UpstreamError(f"Google Gemini withheld the answer ({reason})", status=400)
            raise AnswerEnd(text)
        return text
    error = event.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else 502
        raise UpstreamError(
            str(error.get("message") or "Google Gemini reported an error"), status=status
        )
    feedback = event.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        raise UpstreamError(
            f"Google Gemini blocked the prompt ({feedback['blockReason']})", status=400
        )
    return ""


def gemini_key_rejected(status: int, message: str, _code: str | None) -> bool:
    # Gemini refuses a wrong key with a 400 (reason API_KEY_INVALID), not a 401.
    lowered = message.lower()
    return status in (400, 401, 403) and (
        "api key not valid" in lowered or "api key expired" in lowered
    )


def build_call(chat: ChatRequest, access: Access) -> UpstreamCall:
    model = chat.model.removeprefix("models/")
    if not MODEL_NAME.fullmatch(model):
        raise BadRequest(
            "chatSettings.model is not a Gemini model name (letters, digits, '.', '-', '_')"
        )
    payload: dict[str, Any] = {"contents": build_contents(chat.messages)}
    if chat.temperature is not None:
        payload["generationConfig"] = {"temperature": chat.temperature}
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if access.api_key is not None:
        headers["x-goog-api-key"] = access.api_key.get_secret_value()
    return UpstreamCall(
        url=f"{access.base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse",
        headers=headers,
        body=orjson.dumps(payload),
        key_rejected=gemini_key_rejected,
        event_text=event_text,
    )
