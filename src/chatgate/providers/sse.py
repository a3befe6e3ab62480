"""Reading an answer's server-sent events into text, as it arrives.

Every provider streams server-sent events; they differ only in what an event
holds, which each provider's ``event_text`` knows.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import aiohttp
import orjson

from chatgate.errors import StreamBroken, UpstreamError, UpstreamTimeout
from chatgate.providers.chat import UpstreamCall
from chatgate.providers.upstream import (
    UpstreamPolicy,
    post_for_stream,
    set_idle_timeout,
)
from chatgate.redaction import redact


async def stream_text(
    http: aiohttp.ClientSession,
    call: UpstreamCall,
    *,
    policy: UpstreamPolicy,
    provider_name: str,
) -> AsyncGenerator[str, None]:
    """The answer's text, one piece per read off the wire."""
    response = await post_for_stream(
        http,
        url=call.url,
        headers=call.headers,
        body=call.body,
        policy=policy,
        provider_name=provider_name,
        key_rejected=call.key_rejected,
    )
    event_text = call.event_text
    started = False
    try:
        async for payloads in iter_sse_data(response, provider_name=provider_name):
            parts: list[str] = []
            failure: UpstreamError | None = None
            for payload in payloads:
                if payload == b"[DONE]":
                    break
                try:
                    text = event_text(orjson.loads(payload))
                except orjson.JSONDecodeError as exc:
                    failure = StreamBroken(f"{provider_name} sent a malformed event")
                    failure.__cause__ = exc
                    break
                except UpstreamError as exc:  # an in-band error event
                    failure = UpstreamError(redact(exc.message), status=exc.status)
                    failure.__cause__ = exc
                    break
                if text:
                    parts.append(text)
            if failure is not None:
                # The text that came before the failure still reaches the client.
                if parts:
                    yield "".join(parts)
                raise failure
            if parts:
                if not started:
                    started = True
                    set_idle_timeout(response, policy.idle_timeout)
                yield "".join(parts)
    finally:
        if response.content.is_eof():
            response.release()  # a finished answer: the connection goes back to the pool
        else:
            response.close()  # an unfinished one must stop the upstream, not be drained


async def iter_sse_data(
    response: aiohttp.ClientResponse, *, provider_name: str
) -> AsyncIterator[list[bytes]]:
    """For each read off the wire, the ``data:`` payloads of the complete lines in it.

    Tolerant as an SSE reader should be: comments, ``event:`` lines, blank
    keep-alives, CRLF line ends (Gemini's) and lines split across reads.
    """
    pending = b""
    content = response.content
    try:
        while True:
            data = await content.readany()
            if not data:
                break
            if pending:
                data = pending + data
            lines = data.split(b"\n")
            pending = lines.pop()
            payloads = [line[5:].strip() for line in lines if line.startswith(b"data:")]
            if payloads:
                yield payloads
    except aiohttp.ServerTimeoutError as exc:
        raise UpstreamTimeout(provider_name, "stalled mid-answer") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise StreamBroken(f"{provider_name} closed the connection mid-answer") from exc
    if pending.startswith(b"data:"):
        yield [pending[5:].strip()]
