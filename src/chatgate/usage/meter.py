"""What one answer cost, measured while it streams: its text, the provider's
counts, the time to its first text, and how it ended."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chatgate.db.usage_queries import UsageRow
from chatgate.providers.chat import AnswerEnd, UpstreamCall
from chatgate.providers.events import ChoiceText, Event, ToolCallPart, Usage
from chatgate.usage.counting import (
    ReportedUsage,
    UsageReader,
    count_tokens,
    estimate_prompt_tokens,
    read_gemini_usage,
    usage_reader,
)


@dataclass(slots=True)  # not frozen: one is built per request, and frozen fields cost more
class RequestInfo:
    """Who asked, where, for what: everything of a row known before the answer."""

    user_id: int
    token_id: int | None
    sign_in: str
    route: str
    provider: str
    model: str
    request_id: str


class UsageMeter:
    """One per request that goes to a provider. Feed it the decoded events
    (``observe``, or ``wrap`` around a provider's event reader), then ``finish``."""

    __slots__ = (
        "_read",
        "_text",
        "info",
        "prompt_estimate",
        "reported",
        "started",
        "upstream_called",
    )

    def __init__(self, info: RequestInfo, *, messages: Sequence[Any]) -> None:
        self.info = info
        # For a provider that reports no prompt count. Made now: the messages (the
        # whole conversation, images too) are not kept while the answer streams.
        self.prompt_estimate = estimate_prompt_tokens(messages)
        self.reported = ReportedUsage()
        self.started = time.perf_counter()
        self.upstream_called = False  # a request refused before the provider leaves no row
        # The answer's characters so far, and when its first text came (0.0: not yet).
        self._text = [0, 0.0]
        self._read: UsageReader = usage_reader(info.provider)

    @property
    def answer_chars(self) -> int:
        return int(self._text[0])

    @property
    def first_text_at(self) -> float | None:
        return self._text[1] or None

    def observe(self, event: Any, text: str) -> None:
        """One decoded event and the answer text it carried."""
        state = self._text
        if text:
            if not state[0]:
                state[1] = time.perf_counter()
            state[0] += len(text)
        if type(event) is dict and (not text or self._read is read_gemini_usage):
            self._read(event, self.reported)

    def wrap(self, event_text: Callable[[Any], str]) -> Callable[[Any], str]:
        """A provider's event reader that also feeds this meter. It runs for
        every event of every answer, so it does the least it can: events with
        text carry no counts, except Gemini's (its running counts ride along,
        its last ones on the event that ends the answer)."""
        read, reported, state = self._read, self.reported, self._text
        every_event = read is read_gemini_usage

        def metered(event: Any) -> str:
            try:
                text = event_text(event)
            except AnswerEnd as end:  # the last event: its counts are read, whatever it holds
                if end.text:
                    state[1] = state[1] or time.perf_counter()
                    state[0] += len(end.text)
                if type(event) is dict:
                    read(event, reported)
                raise
            if text:
                if not state[0]:
                    state[1] = time.perf_counter()
                state[0] += len(text)
                if every_event and type(event) is dict:
                    read(event, reported)
            elif type(event) is dict:
                read(event, reported)
            return text

        return metered

    def count_events(self, events: Sequence[Event]) -> None:
        """Events of chatgate's event model, as the /v1 routes read every answer:
        the answer's text (and tool-call arguments) and the provider's counts."""
        state = self._text
        for event in events:
            if type(event) is str:
                if not state[0]:
                    state[1] = time.perf_counter()
                state[0] += len(event)
            elif isinstance(event, ChoiceText):  # another of several choices (n): paid too
                state[1] = state[1] or time.perf_counter()
                state[0] += len(event.text)
            elif isinstance(event, ToolCallPart):
                state[0] += len(event.arguments) + len(event.name or "")
            elif isinstance(event, Usage):
                reported = self.reported
                reported.prompt_tokens = event.prompt_tokens
                reported.completion_tokens = event.completion_tokens
                reported.cached_tokens = event.cached_tokens or 0

    def metered_call(self, call: UpstreamCall, *, model: str) -> UpstreamCall:
        """The same upstream call, its events read by this meter too; ``model`` is
        the one the provider is asked for (a custom model's own id)."""
        self.info.model = model
        self.upstream_called = True
        return replace(call, event_text=self.wrap(call.event_text))

    def finish(self, outcome: str) -> UsageRow:
        """The ledger row. An answer the provider refused (an error status before
        any text) cost nothing; anything else costs what was asked and streamed."""
        now = time.perf_counter()
        info = self.info
        refused = outcome[:1].isdigit() and self.first_text_at is None
        if refused and self.reported.prompt_tokens is None:
            prompt = completion = cached = 0
            estimated = False
        else:
            counts = count_tokens(
                self.reported, prompt_estimate=self.prompt_estimate, answer_chars=self.answer_chars
            )
            prompt, completion = counts.prompt_tokens, counts.completion_tokens
            cached, estimated = counts.cached_tokens, counts.estimated
        first = self.first_text_at
        return UsageRow(
            created_at=datetime.now(UTC),
            user_id=info.user_id,
            token_id=info.token_id,
            sign_in=info.sign_in,
            route=info.route,
            provider=info.provider,
            model=info.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            estimated=estimated,
            outcome=outcome,
            ttfb_ms=None if first is None else (first - self.started) * 1000,
            duration_ms=(now - self.started) * 1000,
            request_id=info.request_id,
        )
