"""Server-sent events, cut into ``data:`` payloads as the bytes arrive.

Tolerant as an SSE reader should be: comments, ``event:`` lines, blank
keep-alives, CRLF line ends (Gemini's) and lines split across reads. Bounded
and linear: a line still waiting for its end lives in one bytearray that
each read appends to, only the new bytes are searched for a line end, and a
line longer than ``MAX_LINE`` ends the answer. Every provider sends one
``data:`` line per event, read as that event's whole payload, so the line's
bound is the event's too. With a compressed answer, the bound applies to the
decompressed bytes, which aiohttp inflates a read at a time.
"""

from __future__ import annotations

from chatgate.errors import StreamBroken

MAX_LINE = 1024 * 1024


class DataLines:
    """The ``data:`` payloads of the lines each read completes."""

    __slots__ = ("_limit", "_partial", "_provider_name")

    def __init__(self, provider_name: str, *, limit: int = MAX_LINE) -> None:
        self._partial = bytearray()  # the start of a line whose end has not arrived
        self._provider_name = provider_name
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes | bytearray]:
        partial = self._partial
        if partial:  # rare: a line split across reads
            searched = len(partial)
            partial += data
            end = partial.rfind(b"\n", searched)
            if end < 0:
                self._check(len(partial))
                return []
            lines: list[bytes] | list[bytearray] = partial[:end].split(b"\n")
            del partial[: end + 1]
            if end > self._limit:
                self._check(max(map(len, lines)))
            self._check(len(partial))
        else:
            lines = data.split(b"\n")
            tail = lines.pop()  # the start of the next line, if any
            if len(data) > self._limit:
                self._check(max(map(len, [tail, *lines])))
            if tail:
                partial += tail
        return [line[5:].strip() for line in lines if line.startswith(b"data:")]

    def end(self) -> list[bytes | bytearray]:
        """The payload of a last line that ended without a line end."""
        partial = self._partial
        return [partial[5:].strip()] if partial.startswith(b"data:") else []

    def _check(self, length: int) -> None:
        if length > self._limit:
            raise StreamBroken(
                f"{self._provider_name} sent an event line longer than {self._limit} bytes;"
                " the answer was cut off there"
            )
