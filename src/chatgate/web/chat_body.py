"""The chat routes' body, described once: ``CHAT_BODY`` and ``CUSTOM_CHAT_BODY``
give both the checks that parse a request and the JSON Schema that documents it.

Parsing is on the hot path: orjson, then plain type checks over its output, one
pass over the messages, no model objects (validating every message with pydantic
costs several times as much). What one request may hold is bounded, so that no
request can hold the event loop for long: messages, parts per message, text in
all, how deep its JSON nests and how many objects and arrays it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress
from typing import Any, Protocol

import orjson

from chatgate.errors import BadRequest
from chatgate.providers.chat import ChatRequest

MAX_MESSAGES = 10_000
MAX_PARTS = 100  # content parts of one message
MAX_TEXT = 10_000_000  # characters of text, over all the messages
MAX_DEPTH = 32  # levels of JSON, the body itself being the first
MAX_CONTAINERS = 50_000  # JSON objects and arrays in the whole body

JsonSchema = dict[str, Any]
_CONTAINERS = frozenset({dict, list})


class Spec(Protocol):
    def check(self, value: Any, path: str) -> None:
        """Raise BadRequest, naming ``path``, unless ``value`` fits."""

    def schema(self) -> JsonSchema: ...


@dataclass(frozen=True, slots=True)
class Text:
    """A string with something in it."""

    examples: tuple[str, ...] = ()
    description: str | None = None

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{path} must be a non-empty string")

    def schema(self) -> JsonSchema:
        return _described(
            {"type": "string", "minLength": 1, "pattern": r"\S"}, self.description, self.examples
        )


@dataclass(frozen=True, slots=True)
class Number:
    minimum: float
    maximum: float
    examples: tuple[float, ...] = ()

    def check(self, value: Any, path: str) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not self.minimum <= value <= self.maximum
        ):
            raise BadRequest(f"{path} must be a number from {self.minimum:g} to {self.maximum:g}")

    def schema(self) -> JsonSchema:
        base = {"type": "number", "minimum": self.minimum, "maximum": self.maximum}
        return _described(base, None, self.examples)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    spec: Spec
    required: bool = True
    # An absent required field reads "<path> is missing", unless its spec's own
    # message says it better ("chatSettings.model must be a non-empty string").
    say_missing: bool = True


@dataclass(frozen=True, slots=True)
class Object:
    fields: tuple[Field, ...]
    expects: str = "an object"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise BadRequest(f"{path or 'Request body'} must be {self.expects}")
        for field in self.fields:
            item = value.get(field.name)
            where = f"{path}.{field.name}" if path else field.name
            if item is None:
                if field.required and field.say_missing:
                    raise BadRequest(f"{where} is missing")
                if field.required:
                    field.spec.check(item, where)
                continue
            field.spec.check(item, where)

    def schema(self) -> JsonSchema:
        return {
            "type": "object",
            "properties": {f.name: f.spec.schema() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
        }


@dataclass(frozen=True, slots=True)
class Messages:
    """The conversation, as the front end builds it for the provider: OpenAI's
    ``{role, content}`` (text or parts), Gemini's ``{role, parts}``."""

    max_messages: int = MAX_MESSAGES
    max_parts: int = MAX_PARTS
    max_text: int = MAX_TEXT

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list) or not value:
            raise BadRequest(f"{path} must be a non-empty list")
        if len(value) > self.max_messages:
            raise BadRequest(
                f"{path} holds {len(value)} messages; at most {self.max_messages} are accepted"
            )
        text = 0
        for index, message in enumerate(value):
            if not isinstance(message, dict):
                raise BadRequest(f"{path}[{index}] must be an object with role and content")
            text += self._text_length(message, f"{path}[{index}]")
        if text > self.max_text:
            raise BadRequest(
                f"{path} hold {text} characters of text; at most {self.max_text} are accepted"
            )

    def _text_length(self, message: Mapping[str, Any], path: str) -> int:
        content = message.get("content")
        if isinstance(content, str):
            return len(content)
        length = 0
        for key in ("content", "parts"):
            parts = message.get(key)
            if not isinstance(parts, list):
                continue
            if len(parts) > self.max_parts:
                raise BadRequest(
                    f"{path}.{key} has {len(parts)} parts; at most {self.max_parts} are accepted"
                )
            for part in parts:
                text = part.get("text") if isinstance(part, dict) else part
                if isinstance(text, str):
                    length += len(text)
        return length

    def schema(self) -> JsonSchema:
        parts = {"type": "array", "maxItems": self.max_parts, "items": {}}
        message = {
            "type": "object",
            "properties": {
                "role": {"type": "string"},
                "content": {"anyOf": [{"type": "string"}, parts]},
                "parts": parts,
            },
        }
        description = (
            f"{_doc(self)} At most {self.max_messages} messages, {self.max_parts} parts"
            f" each and {self.max_text} characters of text in all."
        )
        schema = {"type": "array", "minItems": 1, "maxItems": self.max_messages, "items": message}
        return _described(schema, description, ([{"role": "user", "content": "Hello"}],))


@dataclass(frozen=True, slots=True)
class Body:
    """A whole request body: an object, nested ``max_depth`` levels at most and
    holding ``max_containers`` objects and arrays at most (each one costs time to
    read, convert and write again, however little it holds)."""

    fields: Object
    max_depth: int = MAX_DEPTH
    max_containers: int = MAX_CONTAINERS

    def check_size(self, raw: bytes) -> None:
        """Before parsing: parsing a body of many tiny objects holds the event loop
        for longer than anything else chatgate does (about 20 ms per 30,000 of them),
        so a body that cannot be within the bound is refused unread. Counting the
        opening characters, inside strings too, is an upper bound found in C."""
        limit = 2 * self.max_containers
        if raw.count(b"{") + raw.count(b"[") > limit:
            raise BadRequest(
                f"Request body holds more than {limit} '{{' and '[' characters"
                f" (at most {self.max_containers} JSON objects and arrays are accepted)"
            )

    def check(self, value: Any, path: str = "") -> None:
        self._check_shape(value)
        self.fields.check(value, path)

    def _check_shape(self, value: Any) -> None:
        """Level by level, with the scan of each container's items done in C."""
        level = [value] if type(value) in _CONTAINERS else []
        depth, count = 1, len(level)
        while level:
            below: list[Any] = []
            for container in level:
                items = container.values() if type(container) is dict else container
                below.extend(compress(items, map(_CONTAINERS.__contains__, map(type, items))))
            if not below:
                return
            if depth == self.max_depth:
                raise BadRequest(f"Request body is nested more than {self.max_depth} levels deep")
            count += len(below)
            if count > self.max_containers:
                raise BadRequest(
                    f"Request body holds more than {self.max_containers} JSON objects and arrays"
                )
            level, depth = below, depth + 1

    def schema(self) -> JsonSchema:
        schema = self.fields.schema()
        schema["description"] = (
            f"JSON nested {self.max_depth} levels deep at most,"
            f" with {self.max_containers} objects and arrays at most."
        )
        return schema


def _described(
    schema: JsonSchema, description: str | None, examples: tuple[Any, ...]
) -> JsonSchema:
    if description:
        schema["description"] = description
    if examples:
        schema["examples"] = list(examples)
    return schema


def _doc(spec: object) -> str:
    return " ".join((type(spec).__doc__ or "").split())


_SETTINGS = Field(
    "chatSettings",
    Object(
        (
            Field("model", Text(examples=("gpt-4o",)), say_missing=False),
            Field("temperature", Number(0, 2, examples=(0.5,)), required=False),
        )
    ),
)
_MESSAGES = Field("messages", Messages())
_OBJECT = "a JSON object with chatSettings and messages"

CHAT_BODY = Body(Object((_SETTINGS, _MESSAGES), expects=_OBJECT))
CUSTOM_CHAT_BODY = Body(
    Object(
        (
            _SETTINGS,
            _MESSAGES,
            Field(
                "customModelId", Text(description="The id of one of the caller's custom models.")
            ),
        ),
        expects=_OBJECT,
    )
)


# Past this size, reading a body lets other requests in between its steps.
LARGE_BODY = 1024 * 1024


def parse_chat_body(body: bytes, *, custom_model: bool = False) -> ChatRequest:
    """Chatbot UI's ``{chatSettings, messages}`` (and ``customModelId`` for the
    custom route); other fields are ignored."""
    spec = CUSTOM_CHAT_BODY if custom_model else CHAT_BODY
    data = _loads(body, spec)
    spec.check(data)
    return _chat_request(data, custom_model=custom_model)


async def read_chat_body(body: bytes, *, custom_model: bool = False) -> ChatRequest:
    """parse_chat_body, giving the event loop back between its steps when the body
    is large: each step of a body of megabytes takes tens of milliseconds, which
    every other request would otherwise wait for."""
    if len(body) < LARGE_BODY:
        return parse_chat_body(body, custom_model=custom_model)
    spec = CUSTOM_CHAT_BODY if custom_model else CHAT_BODY
    data = _loads(body, spec)
    await asyncio.sleep(0)
    spec.check(data)
    await asyncio.sleep(0)
    return _chat_request(data, custom_model=custom_model)


def _loads(body: bytes, spec: Body) -> Any:
    spec.check_size(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:  # nesting past orjson's own limit (1,024) too
        raise BadRequest("Request body is not valid JSON") from exc


def _chat_request(data: Any, *, custom_model: bool) -> ChatRequest:
    settings = data["chatSettings"]
    return ChatRequest(
        model=settings["model"],
        temperature=settings.get("temperature"),
        messages=data["messages"],
        custom_model_id=data["customModelId"] if custom_model else None,
    )
