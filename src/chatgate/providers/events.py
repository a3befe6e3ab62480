"""The one event model every provider's answer is read into.

A provider module turns its wire format's events into these; a renderer turns
them into what its client reads (Chatbot UI's text, OpenAI's chunks). Text is
a plain ``str``: it is most of every answer and costs nothing to wrap.
Finish reasons are OpenAI's: ``stop``, ``length``, ``tool_calls``,
``content_filter``.

An answer may hold several choices (OpenAI's ``n``): text, tool calls and the
finish belong to one, by its index; the first choice's text stays a plain
``str`` and another's is a ``ChoiceText``. Usage is the whole answer's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChoiceText:
    """Text of a choice other than the first."""

    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A fragment of one tool call: the first of a call carries its id and name,
    the others more of its arguments. ``index`` is stable for the call within
    its choice."""

    index: int
    arguments: str = ""
    id: str | None = None
    name: str | None = None
    # Provider data the call must carry to the client and back (Gemini's thoughtSignature).
    signature: str | None = None
    choice: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str
    choice: int = 0


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Event = str | ChoiceText | ToolCallPart | Finish | Usage
# Reads one decoded wire event into ``out``; True when it ends the answer.
# Raises UpstreamError for an in-band error event.
ReadEvent = Callable[[Any, list[Event]], bool]


def token_count(value: Any) -> int:
    """A provider's token count, or 0 for anything that is not one."""
    return value if isinstance(value, int) and value >= 0 else 0
