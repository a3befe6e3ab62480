"""OpenAI chat completions, and every server that speaks its wire format
(Mistral, Groq, Perplexity, OpenRouter, custom models; Azure's payload).

The answer ends with a chunk that has a ``finish_reason``, then ``data: [DONE]``;
either one counts as the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import SecretStr

from chatgate.errors import BadRequest, UpstreamError
from chatgate.models import rule_for
from chatgate.providers.chat import (
    Access,
    AnswerEnd,
    ChatRequest,
    KeyRejected,
    UpstreamCall,
    no_event_text,
    only_status_401,
)
from chatgate.providers.events import (
    ChoiceText,
    Event,
    Finish,
    ReadEvent,
    ToolCallPart,
    Usage,
    token_count,
)
from chatgate.providers.urls import check_root_url

END_MARKER = b"[DONE]"


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
    (usage chunks, Azure's content-filter chunks, role-only deltas); a chunk
    with a ``finish_reason`` (its text included) raises AnswerEnd."""
    if not isinstance(event, dict):
        return ""
    text = ""
    finished = False
    choices = event.get("choices")
    if choices and isinstance(choices, list) and isinstance(choices[0], dict):
        choice = choices[0]
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        text = content if content and isinstance(content, str) else ""
        finished = choice.get("finish_reason") is not None
        if text and not finished:
            return text
    # Only a chunk without text, or the last one, can be an in-band error
    # (OpenRouter's come with an empty choice that says "error"), so the text
    # path pays nothing for this check.
    error = event.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise UpstreamError(str(message or "The provider reported an error mid-answer"))
    if finished:
        raise AnswerEnd(text)
    return ""


def passed_on_body(body: dict[str, Any], *, model: str, ask_usage: bool) -> bytes:
    """A client's own chat completion request, sent on as it came: streamed, with
    ``model`` replaced and the model's rules applied; with ``ask_usage``, the
    usage chunk asked for whether the client asked or not."""
    rule = rule_for(model)
    payload = {**body, "model": model, "stream": True}
    if not rule.temperature:
        payload.pop("temperature", None)
    if ask_usage:
        options = payload.get("stream_options")
        payload["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return orjson.dumps(payload)


def read_chunk(event: Any, out: list[Event]) -> bool:
    """A ``chat.completion.chunk`` read into events, each choice's under its
    index; True for one that finishes a choice (see ``chunk_reader`` for n > 1)."""
    if not isinstance(event, dict):
        return False
    error = event.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise UpstreamError(str(message or "The provider reported an error mid-answer"))
    finished = False
    choices = event.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        index = choice.get("index")
        index = index if isinstance(index, int) and index > 0 else 0
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if content and isinstance(content, str):
                out.append(ChoiceText(index, content) if index else content)
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else ():
                out.append(tool_call_part(call, choice=index))
        reason = choice.get("finish_reason")
        if reason:
            out.append(Finish(str(reason), choice=index))
            finished = True
    usage = event.get("usage")
    if usage is None:  # Groq's own place for it
        groq = event.get("x_groq")
        usage = groq.get("usage") if isinstance(groq, dict) else None
    if isinstance(usage, dict):
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        out.append(
            Usage(
                prompt_tokens=token_count(usage.get("prompt_tokens")),
                completion_tokens=token_count(usage.get("completion_tokens")),
                cached_tokens=cached if isinstance(cached, int) else None,
            )
        )
    return finished


class EveryChoiceRead:
    """Reads the chunks of an answer of several choices (``n`` > 1): it ends
    when each of them has finished, not with the first."""

    __slots__ = ("choices", "finished")

    def __init__(self, choices: int) -> None:
        self.choices = choices
        self.finished: set[int] = set()

    def __call__(self, event: Any, out: list[Event]) -> bool:
        start = len(out)
        if read_chunk(event, out):
            self.finished.update(e.choice for e in out[start:] if isinstance(e, Finish))
        return len(self.finished) >= self.choices


def chunk_reader(choices: int) -> ReadEvent:
    """The reader of an answer of ``choices`` choices."""
    return read_chunk if choices == 1 else EveryChoiceRead(choices)


def tool_call_part(call: Any, *, choice: int = 0) -> ToolCallPart:
    if not isinstance(call, dict):
        return ToolCallPart(index=0, choice=choice)
    function = call.get("function")
    function = function if isinstance(function, dict) else {}
    index, name, arguments = call.get("index"), function.get("name"), function.get("arguments")
    return ToolCallPart(
        index=index if isinstance(index, int) else 0,
        id=call.get("id") if isinstance(call.get("id"), str) else None,
        name=name if isinstance(name, str) else None,
        arguments=arguments if isinstance(arguments, str) else "",
        choice=choice,
    )


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
        end_marker=END_MARKER,
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
        end_marker=END_MARKER,
    )


def embeddings_call(
    body: Mapping[str, Any], model: str, access: Access, *, key_rejected: KeyRejected
) -> UpstreamCall:
    headers = request_headers(access.api_key, access.profile.get("openai_organization_id"))
    headers["Accept"] = "application/json"
    return UpstreamCall(
        url=access.base_url + "/embeddings",
        headers=headers,
        body=orjson.dumps({**body, "model": model}),
        key_rejected=key_rejected,
        event_text=no_event_text,
    )


def build_embeddings_call(body: Mapping[str, Any], model: str, access: Access) -> UpstreamCall:
    return embeddings_call(body, model, access, key_rejected=openai_key_rejected)


def build_compatible_embeddings_call(
    body: Mapping[str, Any], model: str, access: Access
) -> UpstreamCall:
    return embeddings_call(body, model, access, key_rejected=only_status_401)


def build_custom_embeddings_call(
    body: Mapping[str, Any], model: str, access: Access
) -> UpstreamCall:
    try:
        check_root_url(access.base_url)
    except ValueError as exc:
        raise BadRequest(f"The custom model's base URL {exc}") from exc
    return embeddings_call(body, model, access, key_rejected=only_status_401)


def build_custom_call(chat: ChatRequest, access: Access) -> UpstreamCall:
    """A user's own custom model: its base URL, checked again where it is used,
    as one stored before today's checks may not pass them."""
    try:
        check_root_url(access.base_url)
    except ValueError as exc:
        raise BadRequest(f"The custom model's base URL {exc}") from exc
    return build_compatible_call(chat, access)
