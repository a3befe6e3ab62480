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
    reply_piece,
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
    """With ``n`` > 1, as OpenAI streams several choices: every step is one chunk
    per choice, each chunk holding that one choice under its ``index``."""

    def __init__(self, model: str, completion_id: str) -> None:
        self.model = model
        self.completion_id = completion_id
        self.created = int(time.time())
        self.choices = 1
        self.steps = 0  # text pieces sent so far, per choice
        # What the directives ask of the answer's end (see answer()).
        self.tool: str | None = None
        self.finishes = ["stop"]  # one a choice; the last one for the rest
        self.cached: int | None = None

    def chunk(self, delta: dict[str, Any], finish: str | None = None, index: int = 0) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        event = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [choice],
        }
        return b"data: " + orjson.dumps(event) + b"\n\n"

    def finish_of(self, index: int) -> str:
        if self.tool:
            return "tool_calls"
        return self.finishes[min(index, len(self.finishes) - 1)]

    def error(self, status: int, message: str, code: str | None = None) -> web.Response:
        return error_response(status, message, code)

    def prelude(self) -> list[bytes]:
        return [
            self.chunk({"role": "assistant", "content": ""}, index=index)
            for index in range(self.choices)
        ]

    def piece(self, text: str) -> bytes:
        step = self.steps
        self.steps += 1
        out = self.chunk({"content": text})
        for index in range(1, self.choices):
            out += self.chunk({"content": reply_piece(step, choice=index)}, index=index)
        return out

    def in_band_error(self) -> bytes:
        error = {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return b"data: " + orjson.dumps({"error": error}) + b"\n\n"

    def tool_call(self, index: int) -> list[bytes]:
        """A tool call as OpenAI streams one: id, type and name first, then the
        arguments in fragments; each choice makes its own (``call_fake<choice>``)."""
        first = {
            "index": 0,
            "id": f"call_fake{index}",
            "type": "function",
            "function": {"name": self.tool, "arguments": ""},
        }
        fragments = ('{"city": ', '"Paris"}')
        return [self.chunk({"tool_calls": [first]}, index=index)] + [
            self.chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}, index=index)
            for part in fragments
        ]

    def epilogue(self) -> list[bytes]:
        # A keep-alive comment and a usage chunk (no choices), as OpenAI sends them.
        completion = 9 * self.choices
        counts: dict[str, Any] = {
            "prompt_tokens": 5,
            "completion_tokens": completion,
            "total_tokens": 5 + completion,
        }
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
        indexes = range(self.choices)
        calls = [event for index in indexes for event in self.tool_call(index)] if self.tool else []
        return [
            *calls,
            b": keep-alive\n\n",
            *[self.chunk({}, self.finish_of(index), index=index) for index in indexes],
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
    wire.finishes = fake.get("finish", "stop").split(",")
    wire.cached = int(fake["cached"]) if "cached" in fake else None
    n = body.get("n")
    wire.choices = n if isinstance(n, int) and n > 1 else 1
    if not body.get("stream"):
        count = int(fake.get("chunks", request.app[DEFAULTS]["chunks"]))
        choices = [
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": "".join(reply_pieces(count, choice=index)),
                },
                "finish_reason": wire.finish_of(index),
            }
            for index in range(wire.choices)
        ]
        return json_response(
            200,
            {
                "id": wire.completion_id,
                "object": "chat.completion",
                "model": wire.model,
                "choices": choices,
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
