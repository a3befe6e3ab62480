"""Relaying answer text to the client over raw ASGI.

The first piece of text is awaited before the status goes out, so an upstream
that fails early still gets a real HTTP error. After that, the only honest way
to report a failure is to break the stream: the response is left unfinished
and the server closes the connection, which the front end shows as an error
instead of mistaking a cut-off answer for a complete one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from contextlib import aclosing
from typing import Any

from starlette.types import Receive, Send

from chatgate.upstream import EndSeen
from chatgate.web.body import ClientDisconnected

TEXT_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class StreamAborted(Exception):
    """The upstream failed after the answer started; the response was left unfinished."""


async def relay_text(send: Send, pieces: AsyncGenerator[str, None], end: EndSeen) -> None:
    """Send the answer as a plain-text 200, one body chunk per piece; the piece
    that came with the answer's end (``end``, set by the upstream reader) also
    ends the response, in the same write.

    Raises whatever ``pieces`` raises before the first piece (nothing has been
    sent yet), and StreamAborted for a failure after it.
    """
    async with aclosing(pieces):
        first = ""
        async for piece in pieces:
            # As the `ai` package does: the answer starts at its first non-blank text.
            first = piece.lstrip()
            if first or end.seen:
                break
        await send({"type": "http.response.start", "status": 200, "headers": list(TEXT_HEADERS)})
        more = bool(first) and not end.seen
        await send({"type": "http.response.body", "body": first.encode(), "more_body": more})
        try:
            async for piece in pieces:
                if more:
                    more = not end.seen
                    await send(
                        {"type": "http.response.body", "body": piece.encode(), "more_body": more}
                    )
                # Past the end, the upstream's response is only read out, for its connection.
        except Exception as exc:
            if not more:
                return  # the answer was whole and is delivered; the rest does not matter
            raise StreamAborted(str(exc)) from exc
    if more:  # the upstream's response ended without the reader seeing the answer's end
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def until_disconnect(
    receive: Receive, relay: Awaitable[None], end: EndSeen | None = None
) -> None:
    """Awaits ``relay``, cancelled the moment the client goes away (the stop
    button), which closes the upstream request at once; then raises
    ClientDisconnected. Once the answer's end is seen (``end``), the client has
    its whole answer and may go: the relay then reads out the upstream's
    response undisturbed, so that its connection goes back to the pool."""
    task = asyncio.current_task()
    assert task is not None
    watcher = asyncio.create_task(_cancel_on_disconnect(receive, task, end))
    try:
        await relay
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled():
            task.uncancel()
            raise ClientDisconnected() from None
        raise
    finally:
        watcher.cancel()


async def _cancel_on_disconnect(
    receive: Receive, task: asyncio.Task[Any], end: EndSeen | None
) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if end is None or not end.seen:
                task.cancel()
            return
