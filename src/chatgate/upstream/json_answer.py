"""An answer that is one JSON body (embeddings): POSTed and retried as a stream
is, then read whole within a bound."""

from __future__ import annotations

import aiohttp

from chatgate.errors import StreamBroken
from chatgate.providers.chat import UpstreamCall
from chatgate.upstream.error_map import FOREIGN_ERRORS, translate
from chatgate.upstream.request import UpstreamPolicy, post_for_stream

MAX_JSON_ANSWER = 64 * 1024 * 1024


async def post_for_json(
    http: aiohttp.ClientSession,
    call: UpstreamCall,
    *,
    policy: UpstreamPolicy,
    provider_name: str,
    limit: int = MAX_JSON_ANSWER,
) -> bytes:
    """The whole body of a 2xx answer; an error status raises as for a stream.
    Reads are bounded by the policy's first-byte wait (aiohttp's read timeout)."""
    response, _ = await post_for_stream(http, call, policy=policy, provider_name=provider_name)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            try:
                data = await response.content.readany()
            except FOREIGN_ERRORS as exc:
                raise translate(exc, provider_name=provider_name, answering=False) from exc
            if not data:
                return b"".join(chunks)
            size += len(data)
            if size > limit:
                raise StreamBroken(f"{provider_name} sent an answer larger than {limit} bytes")
            chunks.append(data)
    finally:
        if response.content.is_eof():
            response.release()
        else:
            response.close()
