"""Bounds on the connections `chatgate serve` holds, before any request exists.

uvicorn waits forever for a request's headers and body, and accepts connections
until the process runs out of file descriptors. Here its httptools protocol
gets three bounds:

- a deadline for a request's headers (``CHATGATE_HEADER_TIMEOUT``), from the
  connection's first moment or the first byte of the next request;
- a deadline for its body (``CHATGATE_BODY_TIMEOUT``), from its headers;
- a cap on open connections (``CHATGATE_MAX_CONNECTIONS``). At the cap, a new
  connection takes the place of the connection that has waited longest for
  its client to finish a request (the shape of a slowloris attack); when every
  connection is busy answering, the newcomer is told 503 and closed at once.

A connection past a deadline is closed; the request being read, if any, sees
the client go away.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from functools import cache
from typing import ClassVar, NamedTuple, cast

from uvicorn._types import ASGI3Application, ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from chatgate.errors import AtConnectionLimit
from chatgate.settings import load_settings
from chatgate.web.errors import error_response

log = logging.getLogger(__name__)

# Descriptors kept aside for what is not a client: upstream and database
# connections, log files, the listening socket.
RESERVED_DESCRIPTORS = 128
# The answer to a newcomer past the cap: a Response is an ASGI app, built once.
AT_LIMIT = cast(ASGI3Application, error_response(AtConnectionLimit()))


def raise_open_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %s: %s", soft, exc)
    return int(soft)


def default_max_connections(open_file_limit: int) -> int:
    # A chat request holds two descriptors: its client's and its upstream's.
    return max(16, (open_file_limit - RESERVED_DESCRIPTORS) // 2)


class ConnectionBounds(NamedTuple):
    header_timeout: float
    body_timeout: float
    max_connections: int


@cache
def connection_bounds() -> ConnectionBounds:
    """The bounds of every connection, read once per process."""
    settings = load_settings()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = soft if soft != resource.RLIM_INFINITY else 1_048_576
    max_connections = settings.max_connections or default_max_connections(int(limit))
    return ConnectionBounds(settings.header_timeout, settings.body_timeout, max_connections)


class _Kept:
    """Stands in for the transport while a response's head is written: keeps it."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class _Prefixed:
    """Stands in for the transport while the first body chunk is written: the
    kept head goes out in front of it, in the same write."""

    __slots__ = ("prefix", "transport")

    def __init__(self, transport: asyncio.Transport, prefix: bytes) -> None:
        self.transport = transport
        self.prefix = prefix

    def write(self, data: bytes) -> None:
        self.transport.write(self.prefix + data)
        self.prefix = b""

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def flush(self) -> None:
        if self.prefix:
            self.transport.write(self.prefix)
            self.prefix = b""


class HeadWithFirstChunk(RequestResponseCycle):
    """uvicorn's request cycle, writing a response's head together with its first
    body chunk: one system call and one TCP segment instead of two for every
    answer. A chat answer's head is sent only once its first text is in hand,
    so holding the head back never delays it."""

    kept_head = b""

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            transport, kept = self.transport, _Kept()
            self.transport = cast(asyncio.Transport, kept)
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self.kept_head = kept.data
            return
        if not self.kept_head:
            await super().send(message)
            return
        transport, prefixed = self.transport, _Prefixed(self.transport, self.kept_head)
        self.kept_head = b""
        self.transport = cast(asyncio.Transport, prefixed)
        try:
            await super().send(message)
        finally:
            self.transport = transport
            if not self.disconnected:
                prefixed.flush()  # a HEAD request's answer writes no body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines and a connection cap.

    One per connection: it adds a single attribute (``deadline``) to uvicorn's,
    which keeps the instance's dict sharing its keys with the class (from 30
    attributes on, CPython gives each instance a dict of its own, 1.3 kB more).
    The bounds are the process's, and ``refused`` is set only on a connection
    it applies to."""

    # Connections the server is waiting on (for headers or a body), oldest first.
    waiting: ClassVar[dict[GuardedHttpToolsProtocol, None]] = {}
    deadline: asyncio.TimerHandle | None = None
    refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        max_connections = connection_bounds().max_connections
        if len(self.connections) > max_connections and not self._evict_one_waiting():
            # Answered once its request is read: closing with the request unread
            # would reset the connection before the client reads the answer.
            self.refused = True
        self._await_headers()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn builds the cycle by its own class name; its subclass takes over here.
        cycle.__class__ = HeadWithFirstChunk
        if self.refused:
            cycle.keep_alive = False
            app = AT_LIMIT
        super()._start_asgi_task(cycle, app)

    def connection_lost(self, exc: Exception | None) -> None:
        self._clear_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._await_headers()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._clear_deadline()
        self.deadline = self.loop.call_later(connection_bounds().body_timeout, self._body_too_slow)
        self.waiting[self] = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._clear_deadline()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._clear_deadline()  # uvicorn's keep-alive timeout takes over
        super().on_response_complete()

    def _await_headers(self) -> None:
        self._clear_deadline()
        self.deadline = self.loop.call_later(
            connection_bounds().header_timeout, self._headers_too_slow
        )
        self.waiting[self] = None

    def _clear_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
            self.waiting.pop(self, None)

    def _evict_one_waiting(self) -> bool:
        for oldest in self.waiting:
            if oldest is not self:
                oldest._close("evicted at the connection limit while the client was slow")
                return True
        return False

    def _headers_too_slow(self) -> None:
        self.deadline = None
        self._close("no complete request headers in time")

    def _body_too_slow(self) -> None:
        self.deadline = None
        self._close("no complete request body in time")

    def _close(self, why: str) -> None:
        self._clear_deadline()
        log.debug("closing a connection from %s: %s", self.client, why)
        if not self.transport.is_closing():
            self.transport.close()
