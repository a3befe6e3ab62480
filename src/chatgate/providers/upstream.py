"""Talking HTTP to a provider: the shared session, the request with its
retries, and error bodies turned into messages.

Every aiohttp exception is translated here, once, into chatgate's own errors;
nothing above the providers catches an HTTP client's exception.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import orjson

from chatgate.errors import (
    ApiKeyIncorrect,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from chatgate.providers.chat import KeyRejected
from chatgate.redaction import redact

log = logging.getLogger(__name__)

# As the providers' own SDKs retry; 529 is Anthropic's "overloaded".
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_ERROR_BODY = 64 * 1024
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class UpstreamPolicy:
    connect_timeout: float = 10.0
    first_byte_timeout: float = 600.0
    idle_timeout: float = 300.0
    max_retries: int = 2


def new_session() -> aiohttp.ClientSession:
    """The one HTTP session every upstream request of the process shares."""
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        json_serialize=lambda obj: orjson.dumps(obj).decode(),
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
        headers={"User-Agent": "chatgate"},
    )


def error_message(body: bytes, fallback: str) -> tuple[str, str | None]:
    """The message and code of a provider's JSON error body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        if text.startswith("<"):  # a proxy's HTML error page says nothing the status does not
            return fallback, None
        return (redact(text[:500]) or fallback), None
    if isinstance(data, list) and data:  # Gemini wraps its error in a list
        data = data[0]
    error = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        code = error.get("code") or error.get("type") or error.get("status")
        if isinstance(message, str) and message:
            return redact(message), str(code) if code is not None else None
    if isinstance(error, str) and error:
        return redact(error), None
    return fallback, None


def status_error(
    *,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    provider_name: str,
    key_rejected: KeyRejected,
) -> UpstreamError:
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


async def post_for_stream(
    http: aiohttp.ClientSession,
    *,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    policy: UpstreamPolicy,
    provider_name: str,
    key_rejected: KeyRejected,
) -> aiohttp.ClientResponse:
    """POST and return the open response once it has a 2xx status.

    Connection failures and retryable statuses are retried up to
    ``policy.max_retries`` times; nothing has reached the client yet.
    """
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=policy.connect_timeout, sock_read=policy.first_byte_timeout
    )
    attempt = 0
    while True:
        error: UpstreamError
        try:
            response = await http.post(url, data=body, headers=headers, timeout=timeout)
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamTimeout(provider_name, "connect") from exc
        except aiohttp.ServerTimeoutError as exc:
            raise UpstreamTimeout(provider_name, "no response") from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            log.info("upstream %s unreachable: %s", provider_name, type(exc).__name__)
            error = UpstreamUnreachable(provider_name)
            error.__cause__ = exc
        else:
            if response.status < 300:
                return response
            try:
                error_body = await response.content.read(MAX_ERROR_BODY)
            except (TimeoutError, aiohttp.ClientError):
                error_body = b""
            finally:
                response.release()
            error = status_error(
                status=response.status,
                body=error_body,
                headers=response.headers,
                provider_name=provider_name,
                key_rejected=key_rejected,
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


def set_idle_timeout(response: aiohttp.ClientResponse, seconds: float) -> None:
    """Switch the read timeout from the first-byte wait to the between-chunks wait.

    aiohttp re-arms this timer on every read anyway, so it costs nothing per chunk.
    """
    connection = response.connection
    if connection is not None and connection.protocol is not None:
        connection.protocol.read_timeout = seconds
