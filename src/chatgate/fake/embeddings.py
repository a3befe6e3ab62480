"""OpenAI's embeddings (and Azure's, under a deployment's path): one small
vector per input, the same for the same text, and the usage of the input."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from chatgate.fake.answer import json_response, key_is_bad, read_json
from chatgate.fake.openai import error_response

DIMENSIONS = 8


def vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(byte / 255, 4) for byte in digest[:DIMENSIONS]]


def inputs_of(body: Any) -> list[str] | None:
    value = body.get("input") if isinstance(body, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    return None


async def embeddings(request: web.Request) -> web.Response:
    body = await read_json(request)
    key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    key = key or request.headers.get("api-key", "")
    local = request.path.startswith("/local/")  # a local server needs no key
    if not key and not local:
        return error_response(401, "You didn't provide an API key.")
    if key_is_bad(key):
        return error_response(401, "Incorrect API key provided.", "invalid_api_key")
    inputs = inputs_of(body)
    if inputs is None:
        return error_response(400, "'input' is a required property")
    model = request.match_info.get("deployment") or str(body.get("model"))
    tokens = sum(len(text.split()) for text in inputs)
    return json_response(
        200,
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": index, "embedding": vector(text)}
                for index, text in enumerate(inputs)
            ],
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )
