"""Google Gemini's streamGenerateContent with ``alt=sse``: candidate chunks
(CRLF-separated, as Google sends them) and Google's error bodies."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatgate.fake.answer import (
    directives,
    json_response,
    key_is_bad,
    read_json,
    sse,
    stream_answer,
)

CRLF2 = b"\r\n\r\n"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
PART_FIELDS = frozenset({"text", "inlineData", "fileData", "functionCall", "functionResponse"})
FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS"}
SIGNATURE = "c2lnbmF0dXJlLWZha2U="


def error_response(
    status: int, message: str, code: str | None = None, details: list[Any] | None = None
) -> web.Response:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": code or STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return json_response(status, {"error": error})


class GeminiWire:
    def __init__(self, model: str) -> None:
        self.model = model
        # What the directives ask of the answer's end (see generate_content()).
        self.tool: str | None = None
        self.finish = "STOP"
        self.usage_extra: dict[str, int] = {}

    def chunk(self, text: str, finish: str | None = None) -> bytes:
        parts: list[dict[str, Any]] = [{"text": text}]
        if finish and self.tool:
            # A function call with its thought signature, as thinking models send it.
            call = {"name": self.tool, "args": {"city": "Paris"}}
            parts = [{"functionCall": call, "thoughtSignature": SIGNATURE}]
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        usage = {
            "promptTokenCount": 10,
            "candidatesTokenCount": 1,
            "totalTokenCount": 11,
            **self.usage_extra,
        }
        event = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": self.model}
        return sse(event, end=CRLF2)

    def error(self, status: int, message: str, code: str | None = None) -> web.Response:
        return error_response(status, message, code)

    def prelude(self) -> list[bytes]:
        return []

    def piece(self, text: str) -> bytes:
        return self.chunk(text)

    def in_band_error(self) -> bytes:
        error = {
            "code": 500,
            "message": "An internal error has occurred. Please retry or report in"
            " https://developers.generativeai.google/guide/troubleshooting",
            "status": "INTERNAL",
        }
        return sse({"error": error}, end=CRLF2)

    def epilogue(self) -> list[bytes]:
        return [self.chunk("", self.finish)]


def contents_problem(contents: Any) -> str | None:
    """What Gemini would refuse in ``contents``, as its error message says it."""
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            return f"Invalid value at 'contents[{i}]'"
        for name in content:
            if name not in ("role", "parts"):
                return (
                    f'Invalid JSON payload received. Unknown name "{name}" at '
                    f"'contents[{i}]': Cannot find field."
                )
        if content.get("role") not in ("user", "model"):
            return f"Please use a valid role: user, model. (contents[{i}])"
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return (
                f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            )
        for j, part in enumerate(parts):
            if not isinstance(part, dict) or not PART_FIELDS & part.keys():
                return f"Invalid value at 'contents[{i}].parts[{j}]'"
            inline = part.get("inlineData")
            if inline is not None and not (
                isinstance(inline, dict) and inline.get("data") and inline.get("mimeType")
            ):
                return f"* GenerateContentRequest.contents[{i}].parts[{j}].inline_data: missing"
    return None


async def generate_content(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    model, _, method = request.match_info["target"].partition(":")
    if method != "streamGenerateContent":
        return error_response(404, f"Method {method or '(none)'} is not found.")
    key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
    if not key:
        return error_response(
            403,
            "Method doesn't allow unregistered callers (callers without established identity)."
            " Please use API Key or other form of API consumer identity to call this API.",
        )
    if key_is_bad(key):
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }
        return error_response(
            400, "API key not valid. Please pass a valid API key.", details=[info]
        )
    if request.query.get("alt") != "sse":
        return error_response(400, "the fake streams with alt=sse only")
    if not isinstance(body, dict):
        return error_response(400, "Invalid JSON payload received.")
    problem = contents_problem(body.get("contents"))
    if problem:
        return error_response(400, problem)
    parts = body["contents"][-1]["parts"]
    text = " ".join(p["text"] for p in parts if isinstance(p.get("text"), str))
    fake = directives(text)
    wire = GeminiWire(model)
    wire.tool = fake.get("tool")
    wire.finish = FINISH_REASONS.get(fake.get("finish", "stop"), fake.get("finish", ""))
    for directive, field in (
        ("thoughts", "thoughtsTokenCount"),
        ("cached", "cachedContentTokenCount"),
    ):
        if directive in fake:
            wire.usage_extra[field] = int(fake[directive])
    return await stream_answer(request, wire, fake, line_end=CRLF2)
