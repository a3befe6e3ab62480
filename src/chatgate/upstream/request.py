"""The POST that opens an answer: retried as the providers' SDKs retry, never
redirected, and a refusal turned into the message the user reads."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import orjson

from chatgate.errors import ApiKeyIncorrect, UpstreamError
from chatgate.providers.chat import KeyRejected, UpstreamCall
from chatgate.redaction import redact
from chatgate.upstream.error_map import FOREIGN_ERRORS, translate

log = logging.getLogger(__name__)

# As the providers' own SDKs retry; 529 is Anthropic's "overloaded".
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_ERROR_BODY = 64 * 1024
MAX_ERROR_MESSAGE = 1000
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class UpstreamPolicy:
    connect_timeout: float = 10.0
    first_byte_timeout: float = 600.0  # until the first text (or error) of the answer
    idle_timeout: float = 300.0  # between two pieces of text
    max_retries: int = 2


def error_message(body: bytes, fallback: str) -> tuple[str, str | None]:
    """The message and code of a provider's JSON error body, else ``fallback``.

    Only the providers' JSON error shape is relayed ({"error": {"message",
    "code"}}, or a top-level "message"): any other body, which may be an
    internal service's page, is never shown to the user."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return fallback, None
    if isinstance(data, list) and data:  # Gemini wraps its error in a list
        data = data[0]
    error = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        code = error.get("code") or error.get("type") or error.get("status")
        if isinstance(message, str) and message.strip():
            code_text = str(code) if isinstance(code, str | int) else None
            return redact(message.strip()[:MAX_ERROR_MESSAGE]), code_text
    return fallback, None


def status_error(
    *,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    provider_name: str,
    key_rejected: KeyRejected,
) -> UpstreamError:
    if 300 <= status < 400:
        # Never followed: a redirect could take the key, or the user, anywhere.
        return UpstreamError(f"{provider_name} answered with a redirect (status {status})")
    message, code = error_message(body, f"{provider_name} answered with status {status}")
    if key_rejected(status, message, code):
        return ApiKeyIncorrect(provider_name)
    # Out of credit is not cured by waiting: never retried.
    retryable = status in RETRY_STATUSES and code != "insufficient_quota"
    client_status = status if 400 <= status <= 599 else 502
    return UpstreamError(
        message, status=client_status, retry_after=headers.get("Retry-After"), retryable=retryable
    )


def backoff_seconds(attempt: int, retry_after: str | None) -> float:
    """The wait before retry number ``attempt`` (0-based), as openai-python waits."""
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            seconds = -1.0
        if 0 <= seconds <= MAX_RETRY_AFTER:
            return seconds
    delay: float = min(0.5 * 2**attempt, 8.0)
    return delay * (1 - 0.25 * random.random())


async def refusal(
    response: aiohttp.ClientResponse, *, provider_name: str, key_rejected: KeyRejected
) -> UpstreamError:
    """What a non-2xx answer means for the user; the response is released."""
    body = b""
    if response.status >= 400:
        try:
            body = await response.content.read(MAX_ERROR_BODY)
        except FOREIGN_ERRORS:
            body = b""
    response.release()
    return status_error(
        status=response.status,
        body=body,
        headers=response.headers,
        provider_name=provider_name,
        key_rejected=key_rejected,
    )


async def post_for_stream(
    http: aiohttp.ClientSession,
    call: UpstreamCall,
    *,
    policy: UpstreamPolicy,
    provider_name: str,
) -> tuple[aiohttp.ClientResponse, float]:
    """POST, and return the open response once it has a 2xx status, with the
    loop time its request was sent at.

    Connection failures and retryable statuses are retried up to
    ``policy.max_retries`` times; nothing has reached the client yet.
    """
    # The headers must come within the first-byte wait; the answer's own
    # deadlines are kept by stream_text.
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=policy.connect_timeout, sock_read=policy.first_byte_timeout
    )
    loop = asyncio.get_running_loop()
    attempt = 0
    while True:
        sent_at = loop.time()
        try:
            response = await http.post(
                call.url,
                data=call.body,
                headers=call.headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except FOREIGN_ERRORS as exc:
            error = translate(exc, provider_name=provider_name, answering=False)
            if not isinstance(error, UpstreamError) or not error.retryable:
                raise error from exc
            log.info("upstream %s unreachable: %s", provider_name, type(exc).__name__)
            error.__cause__ = exc
        else:
            if 200 <= response.status < 300:
                return response, sent_at
            error = await refusal(
                response, provider_name=provider_name, key_rejected=call.key_rejected
            )
        if not error.retryable or attempt >= policy.max_retries:
            raise error
        delay = backoff_seconds(attempt, error.retry_after)
        log.info(
            "retrying %s after status %s in %.2fs (retry %d of %d)",
            provider_name,
            error.status,
            delay,
            attempt + 1,
            policy.max_retries,
        )
        await asyncio.sleep(delay)
        attempt += 1
