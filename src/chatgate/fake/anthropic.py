"""Anthropic's messages API: its named events (``message_start`` ...
``message_stop``, ``ping``, ``error``) and its error bodies."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatgate.fake.answer import (
    STATS,
    directives,
    json_response,
    key_is_bad,
    read_json,
    sse,
    stream_answer,
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_response(status: int, message: str, code: str | None = None) -> web.Response:
    error = {"type": code or ERROR_TYPES.get(status, "api_error"), "message": message}
    return json_response(status, {"type": "error", "error": error, "request_id": "req_fake"})


STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


class AnthropicWire:
    def __init__(self, model: str, message_id: str) -> None:
        self.model = model
        self.message_id = message_id
        # What the directives ask of the answer's end (see messages()).
        self.tool: str | None = None
        self.stop_reason = "end_turn"
        self.cached: int | None = None

    def error(self, status: int, message: str, code: str | None = None) -> web.Response:
        return error_response(status, message, code)

    def prelude(self) -> list[bytes]:
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }
        if self.cached is not None:
            message["usage"] |= {
                "cache_creation_input_tokens": 3,
                "cache_read_input_tokens": self.cached,
            }
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        return [
            sse({"type": "message_start", "message": message}, "message_start"),
            sse(block, "content_block_start"),
            sse({"type": "ping"}, "ping"),
        ]

    def piece(self, text: str) -> bytes:
        delta = {"type": "text_delta", "text": text}
        return sse(
            {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
        )

    def in_band_error(self) -> bytes:
        error = {"type": "overloaded_error", "message": "Overloaded"}
        return sse({"type": "error", "error": error}, "error")

    def tool_use(self) -> list[bytes]:
        """A tool_use block as Anthropic streams one: its start, then its input
        as JSON fragments."""
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": "toolu_fake0",
            "name": self.tool,
            "input": {},
        }
        fragments = ('{"city": ', '"Paris"}')
        return [
            sse(
                {"type": "content_block_start", "index": 1, "content_block": block},
                "content_block_start",
            ),
            *(
                sse(
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    },
                    "content_block_delta",
                )
                for part in fragments
            ),
            sse({"type": "content_block_stop", "index": 1}, "content_block_stop"),
        ]

    def epilogue(self) -> list[bytes]:
        reason = "tool_use" if self.tool else self.stop_reason
        delta = {"stop_reason": reason, "stop_sequence": None}
        # output_tokens is the running total of the answer, not an increment.
        usage = {"output_tokens": 12}
        return [
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            *(self.tool_use() if self.tool else []),
            sse({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]


def content_problem(messages: list[Any]) -> str | None:
    """What Anthropic would refuse in the messages, as its error message says it."""
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            role = message.get("role") if isinstance(message, dict) else None
            return (
                f'messages: Unexpected role "{role}". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"messages.{i}.content: Input should be a valid list"
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text" and isinstance(block.get("text"), str):
                continue
            if kind == "tool_use" and message["role"] == "assistant" and block.get("id"):
                continue
            if kind == "tool_result" and message["role"] == "user" and block.get("tool_use_id"):
                continue
            if kind == "image" and isinstance(block.get("source"), dict):
                source = block["source"]
                if source.get("type") == "url" or (
                    source.get("type") == "base64"
                    and source.get("media_type")
                    and source.get("data")
                ):
                    continue
            return f"messages.{i}.content.{j}: Input does not match any block type"
    return None


def last_text(messages: list[Any]) -> str:
    content = messages[-1].get("content") if messages else None
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if b.get("type") == "text")
    return content if isinstance(content, str) else ""


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    key = request.headers.get("x-api-key", "")
    if not key:
        return error_response(401, "x-api-key header is required")
    if key_is_bad(key):
        return error_response(401, "invalid x-api-key")
    if "anthropic-version" not in request.headers:
        return error_response(400, "anthropic-version: header is required")
    if not isinstance(body, dict):
        return error_response(400, "The request body is not valid JSON.")
    for field in ("model", "messages", "max_tokens"):
        if field not in body:
            return error_response(400, f"{field}: Field required")
    if not isinstance(body["messages"], list):
        return error_response(400, "messages: Input should be a valid list")
    problem = content_problem(body["messages"])
    if problem:
        return error_response(400, problem)
    if body.get("stream") is not True:
        return error_response(400, "the fake answers streaming requests only")
    wire = AnthropicWire(str(body["model"]), f"msg_fake{request.app[STATS]['started']}")
    fake = directives(last_text(body["messages"]))
    wire.tool = fake.get("tool")
    wire.stop_reason = STOP_REASONS.get(fake.get("finish", "stop"), fake.get("finish", ""))
    wire.cached = int(fake["cached"]) if "cached" in fake else None
    return await stream_answer(request, wire, fake)
