"""aiohttp's exceptions, translated into chatgate's errors: here, and nowhere else.

As httpx maps httpcore's exceptions: one table, the first matching class wins
(so a subclass comes before its base), and every translation keeps the
original as its cause for the log. The user's message never carries the
foreign exception's text: a closed port and one that speaks something else
both read "could not be reached", so the answers cannot be used to scan ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from chatgate.errors import (
    BadRequest,
    ChatgateError,
    StreamBroken,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from chatgate.upstream.destinations import ALLOW_SETTING, DestinationRefused

# What the exception becomes, given the provider's display name and the exception.
Translate = Callable[[str, BaseException], ChatgateError]
# Everything the HTTP client may raise while chatgate talks to a provider.
FOREIGN_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


def refused(provider_name: str, exc: BaseException) -> ChatgateError:
    host = exc.host if isinstance(exc, DestinationRefused) else "the address"
    return BadRequest(
        f"{provider_name} at {host} is on a private network, which this server does not call;"
        f" its operator can allow it with {ALLOW_SETTING}"
    )


def bad_url(provider_name: str, _exc: BaseException) -> ChatgateError:
    return BadRequest(f"The {provider_name} URL is not a valid http:// or https:// URL")


def unreachable(provider_name: str, _exc: BaseException) -> ChatgateError:
    return UpstreamUnreachable(provider_name)


def broken(provider_name: str, _exc: BaseException) -> ChatgateError:
    return StreamBroken(f"{provider_name} closed the connection mid-answer")


def timed_out(what: str) -> Translate:
    def translate(provider_name: str, _exc: BaseException) -> ChatgateError:
        return UpstreamTimeout(provider_name, what)

    return translate


# (foreign class, before the answer started, once it has)
ERROR_MAP: tuple[tuple[type[BaseException], Translate, Translate], ...] = (
    (DestinationRefused, refused, refused),
    (aiohttp.ConnectionTimeoutError, timed_out("connect"), timed_out("connect")),
    (aiohttp.ServerTimeoutError, timed_out("no response"), timed_out("stalled mid-answer")),
    # Redirects are never followed, so an invalid URL is the caller's (base URL, endpoint).
    (aiohttp.InvalidURL, bad_url, bad_url),
    (aiohttp.NonHttpUrlClientError, bad_url, bad_url),
    (aiohttp.ClientPayloadError, broken, broken),
    # Refused, reset, TLS, DNS, or a peer that does not speak HTTP.
    (aiohttp.ClientError, unreachable, broken),
    (asyncio.TimeoutError, timed_out("no response"), timed_out("stalled mid-answer")),
    (OSError, unreachable, broken),
)


def foreign_cause(exc: BaseException) -> BaseException:
    """aiohttp wraps the OSErrors of its resolver and middlewares: a refused
    destination inside is what counts."""
    for inner in (getattr(exc, "os_error", None), exc.__cause__):
        if isinstance(inner, DestinationRefused):
            return inner
    return exc


def translate(exc: BaseException, *, provider_name: str, answering: bool) -> ChatgateError:
    """chatgate's error for ``exc``; raise it ``from exc``.

    ``answering``: the answer has started streaming, so a lost connection
    breaks the stream rather than failing the request."""
    cause = foreign_cause(exc)
    for foreign, before, during in ERROR_MAP:
        if isinstance(cause, foreign):
            return (during if answering else before)(provider_name, cause)
    raise TypeError(f"{type(exc).__name__} is not an HTTP client error") from exc
