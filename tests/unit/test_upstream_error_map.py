"""Every exception the HTTP client can raise becomes one of chatgate's errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from chatgate.errors import BadRequest, ChatgateError, StreamBroken, UpstreamError
from chatgate.upstream.destinations import DestinationRefused
from chatgate.upstream.error_map import FOREIGN_ERRORS, translate


def subclasses(base: type[BaseException]) -> Iterator[type[BaseException]]:
    yield base
    for sub in base.__subclasses__():
        yield from subclasses(sub)


def foreign_classes() -> list[type[BaseException]]:
    """aiohttp's exceptions, and the standard ones its calls let through."""
    found = {*subclasses(aiohttp.ClientError), asyncio.TimeoutError, TimeoutError}
    found |= {
        cls
        for cls in subclasses(OSError)
        if cls.__module__.split(".")[0] in ("builtins", "aiohttp", "socket", "ssl")
    }
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def instance(cls: type[BaseException]) -> BaseException:
    # Without __init__: the map may read the class, never the foreign message.
    return cls.__new__(cls)


def test_the_walk_meets_aiohttps_exceptions() -> None:
    names = {cls.__name__ for cls in foreign_classes()}
    assert {
        "ClientConnectorDNSError",
        "ClientConnectorCertificateError",
        "ServerDisconnectedError",
        "ClientPayloadError",
        "NonHttpUrlRedirectClientError",
        "TooManyRedirects",
        "ConnectionResetError",
    } <= names


@pytest.mark.parametrize("cls", foreign_classes(), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("answering", [False, True], ids=["before", "during"])
def test_every_foreign_exception_is_mapped(cls: type[BaseException], answering: bool) -> None:
    assert issubclass(cls, FOREIGN_ERRORS)
    error = translate(instance(cls), provider_name="Mistral", answering=answering)
    assert isinstance(error, ChatgateError)
    assert 400 <= error.status <= 599
    assert "Mistral" in error.message
    if answering and isinstance(error, UpstreamError) and error.status == 502:
        assert isinstance(error, StreamBroken)  # the answer has started: the stream breaks


def test_a_refused_destination_inside_aiohttps_wrapping_is_the_callers_400() -> None:
    refused = DestinationRefused("10.0.0.7")
    key = aiohttp.client_reqrep.ConnectionKey("internal.example", 80, False, True, None, None, None)
    for wrapped in (aiohttp.ClientConnectorDNSError(key, refused), refused):
        error = translate(wrapped, provider_name="Custom", answering=False)
        assert isinstance(error, BadRequest)
        assert "10.0.0.7" in error.message
        assert "CHATGATE_ALLOWED_UPSTREAM_HOSTS" in error.message
    via_middleware = aiohttp.ClientOSError(*refused.args)
    via_middleware.__cause__ = refused
    assert isinstance(translate(via_middleware, provider_name="C", answering=False), BadRequest)


def test_anything_else_is_not_the_maps_to_hide() -> None:
    with pytest.raises(TypeError):
        translate(KeyError("x"), provider_name="OpenAI", answering=False)
