"""OpenAI's chat completions: ``chat.completion.chunk`` events ending with
``data: [DONE]``, and OpenAI's error bodies (the real 401 for a wrong key)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from chatgate.fake.answer import (
    DEFAULTS,
    STATS,
    directives,
    json_response,
    key_is_bad,
    read_json,
    reply_pieces,
    sse,
    stream_answer,
)

STATUS_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    408: "timeout",
    409: "conflict",
    429: "rate_limit_exceeded",
}


def error_response(status: int, message: str, code: str | None = None) -> web.Response:
    body = {
        "error": {
            "message": message,
            "type": STATUS_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    return json_response(status, body)


def message_text(message: Any) -> str:
    """The text of an OpenAI chat message (string content or text parts)."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class OpenAIWire:
    def __init__(self, model: str, completion_id: str) -> None:
        self.model = model
        self.completion_id = completion_id
        self.created = int(time.time())
        # What the directives ask of the answer's end (see answer()).
        self.tool: str | None = None
        self.finish = "stop"
        self.cached: int | None = None

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        event = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + orjson.dumps(event) + b"\n\n"

    def error(self, status: int, message: str, code: str | None = None) -> web.Response:
        return error_response(status, message, code)

    def prelude(self) -> list[bytes]:
        return [self.chunk({"role": "assistant", "content": ""})]

    def piece(self, text: str) -> bytes:
        return self.chunk({"content": text})

    def in_band_error(self) -> bytes:
        error = {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return b"data: " + orjson.dumps({"error": error}) + b"\n\n"

    def tool_call(self) -> list[bytes]:
        """A tool call as OpenAI streams one: id, type and name first, then the
        arguments in fragments."""
        first = {
            "index": 0,
            "id": "call_fake0",
            "type": "function",
            "function": {"name": self.tool, "arguments": ""},
        }
        fragments = ('{"city": ', '"Paris"}')
        return [self.chunk({"tool_calls": [first]})] + [
            self.chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
            for part in fragments
        ]

    def epilogue(self) -> list[bytes]:
        # A keep-alive comment and a usage chunk (no choices), as OpenAI sends them.
        counts: dict[str, Any] = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
        if self.cached is not None:
            counts["prompt_tokens_details"] = {"cached_tokens": self.cached}
        usage = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": counts,
        }
        calls = self.tool_call() if self.tool else []
        finish = "tool_calls" if self.tool else self.finish
        return [
            *calls,
            b": keep-alive\n\n",
            self.chunk({}, finish),
            sse(usage),
            b"data: [DONE]\n\n",
        ]


async def answer(
    request: web.Request, body: Any, wire: OpenAIWire, *, model_in_body: bool = True
) -> web.StreamResponse:
    """A completion for a request whose key has been accepted (Azure's names
    the deployment in its path, and needs no ``model`` in the body)."""
    if not isinstance(body, dict) or (model_in_body and "model" not in body):
        return wire.error(400, "you must provide a model parameter")
    if "messages" not in body:
        return wire.error(400, "you must provide a messages parameter")
    messages = body["messages"]
    last = messages[-1] if isinstance(messages, list) and messages else None
    fake = directives(message_text(last))
    wire.tool = fake.get("tool")
    wire.finish = fake.get("finish", "stop")
    wire.cached = int(fake["cached"]) if "cached" in fake else None
    if not body.get("stream"):
        count = int(fake.get("chunks", request.app[DEFAULTS]["chunks"]))
        message = {"role": "assistant", "content": "".join(reply_pieces(count))}
        return json_response(
            200,
            {
                "id": wire.completion_id,
                "object": "chat.completion",
                "model": wire.model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            },
        )
    return await stream_answer(request, wire, fake)


def new_wire(request: web.Request, body: Any) -> OpenAIWire:
    model = str(body.get("model")) if isinstance(body, dict) else ""
    return OpenAIWire(model, f"chatcmpl-fake{request.app[STATS]['started']}")


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    if body is None:
        return error_response(400, "We could not parse the JSON body of your request.")
    key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not key:
        return error_response(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization"
            " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if key_is_bad(key):
        shown = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:]
        return error_response(
            401,
            f"Incorrect API key provided: {shown}. You can find your API key at"
            " https://platform.openai.com/account/api-keys.",
            "invalid_api_key",
        )
    return await answer(request, body, new_wire(request, body))


async def local_chat_completions(request: web.Request) -> web.StreamResponse:
    """A local server (Ollama, llama.cpp): no key needed, none checked."""
    body = await read_json(request)
    if body is None:
        return error_response(400, "We could not parse the JSON body of your request.")
    return await answer(request, body, new_wire(request, body))
