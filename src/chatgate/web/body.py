"""The one reader of request bodies, with their bounds.

A body announced larger than its limit is refused before a byte of it is read;
a chunked one is counted as it arrives and refused the moment it passes the limit,
so no request can make the process hold more than its route's limit.
"""

from __future__ import annotations

from starlette.types import Message, Receive

from chatgate.errors import BodyTooLarge


class ClientDisconnected(Exception):
    """The client went away before the answer was complete."""


async def read_body(receive: Receive, *, limit: int, content_length: str | None) -> bytes:
    """The whole request body, refused as soon as it passes ``limit`` bytes."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the body already read, then the client's own
    messages (a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive_after_body() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return receive_after_body
