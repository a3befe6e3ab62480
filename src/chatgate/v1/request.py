"""The body of POST /v1/chat/completions: checked enough to route it and to
name the field that is wrong; everything else is the provider's to judge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chatgate.errors import InvalidField


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    body: dict[str, Any]
    model: str
    messages: list[Any]
    stream: bool
    include_usage: bool
    choices: int  # OpenAI's n: how many answers at once


def load_request(raw: bytes) -> dict[str, Any]:
    """A /v1 request body: a JSON object naming its model, or OpenAI's own refusals."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidField(None, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise InvalidField(None, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidField("model", "you must provide a model parameter")
    return body


def parse_completion_request(raw: bytes) -> CompletionRequest:
    body = load_request(raw)
    model = body["model"]
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidField("messages", "messages must be a non-empty array of messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidField(
                f"messages[{index}]", f"messages[{index}] must be an object with a role"
            )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidField("stream", "stream must be true or false")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidField("stream_options", "stream_options must be an object")
    include_usage = bool(options and options.get("include_usage") is True)
    choices = body.get("n")
    if choices is None:
        choices = 1
    elif type(choices) is not int or choices < 1:
        raise InvalidField("n", "n must be a whole number of at least 1")
    return CompletionRequest(
        body=body,
        model=model,
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        choices=choices,
    )
