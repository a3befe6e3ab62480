"""Azure OpenAI: OpenAI's chunks under a deployment's path, the ``api-key``
header, the ``api-version`` query, content-filter chunks with no choices, and
Azure's own error bodies."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from chatgate.fake.answer import json_response, key_is_bad, read_json
from chatgate.fake.openai import OpenAIWire, answer, new_wire

SAFE = {
    category: {"filtered": False, "severity": "safe"}
    for category in ("hate", "self_harm", "sexual", "violence")
}


def error_response(status: int, message: str, code: str | None = None) -> web.Response:
    return json_response(status, {"error": {"code": code or str(status), "message": message}})


class AzureWire(OpenAIWire):
    def error(self, status: int, message: str, code: str | None = None) -> web.Response:
        return error_response(status, message, code)

    def prelude(self) -> list[bytes]:
        # Azure opens with the prompt's filter results: a chunk without choices.
        filters: dict[str, Any] = {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}],
        }
        return [b"data: " + orjson.dumps(filters) + b"\n\n", *super().prelude()]


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    if "api-version" not in request.query:
        return error_response(404, "Resource not found")
    key = request.headers.get("api-key", "")
    if not key:
        return error_response(
            401,
            "Access denied due to missing subscription key. Make sure to include subscription"
            " key when making requests to an API.",
        )
    if key_is_bad(key):
        return error_response(
            401,
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to"
            " provide a valid key for an active subscription and use a correct regional API"
            " endpoint for your resource.",
        )
    if body is None:
        return error_response(400, "Failed to parse the request body as JSON.", "BadRequest")
    plain = new_wire(request, body)
    wire = AzureWire(request.match_info["deployment"], plain.completion_id)
    return await answer(request, body, wire, model_in_body=False)
