"""How many tokens an answer cost: the provider's own counts where its events
carry them, else an estimate.

The readers are pure functions over decoded events, one per wire format, each
filling a ``ReportedUsage`` as the events go by (a provider may spread its
counts over several events). The estimate needs no tokenizer tables (chatgate
runs offline): about 4 characters of text a token, as OpenAI's rule of thumb
for English has it, a fixed cost per image, and OpenAI's documented overhead
of 3 tokens per message plus 3 that prime the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4
# What OpenAI charges for a 1024 x 1024 image at high detail (85 + 4 tiles of 170).
TOKENS_PER_IMAGE = 765
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
IMAGE_PARTS = frozenset({"image_url", "image", "input_image", "inlineData", "fileData"})


@dataclass(slots=True)
class ReportedUsage:
    """What the provider said so far; None where it said nothing."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0


@dataclass(frozen=True, slots=True)
class TokenCounts:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    estimated: bool

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


UsageReader = Callable[[Any, ReportedUsage], None]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_openai_usage(event: Any, into: ReportedUsage) -> None:
    """OpenAI and its compatibles: ``usage`` on the last chunk (asked for with
    ``stream_options.include_usage``; Mistral and Perplexity send it unasked, the
    latter on every chunk, so the last one wins), or Groq's ``x_groq.usage``."""
    usage = event.get("usage")
    if usage is None:
        groq = event.get("x_groq")
        usage = groq.get("usage") if isinstance(groq, dict) else None
    if not isinstance(usage, dict):
        return
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    if prompt is not None:
        into.prompt_tokens = prompt
    if completion is not None:
        into.completion_tokens = completion
    details = usage.get("prompt_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else None
    if cached is not None:
        into.cached_tokens = cached


def read_anthropic_usage(event: Any, into: ReportedUsage) -> None:
    """``message_start`` holds the input (the prompt is input + cache creation +
    cache read tokens); ``message_delta``'s ``output_tokens`` is a running
    total, not an increment. ``message_start``'s own ``output_tokens`` is a
    placeholder, so the completion is known from the first ``message_delta``."""
    kind = event.get("type")
    if kind == "message_start":
        message = event.get("message")
        usage = message.get("usage") if isinstance(message, dict) else None
        if isinstance(usage, dict):
            _anthropic_input(usage, into)
    elif kind == "message_delta":
        usage = event.get("usage")
        if isinstance(usage, dict):
            output = _count(usage.get("output_tokens"))
            if output is not None:
                into.completion_tokens = output
            if "input_tokens" in usage:  # sent again when server tools ran
                _anthropic_input(usage, into)


def _anthropic_input(usage: dict[str, Any], into: ReportedUsage) -> None:
    parts = [
        _count(usage.get(name))
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    if parts[0] is None:
        return
    into.prompt_tokens = sum(part or 0 for part in parts)
    into.cached_tokens = parts[2] or 0


def read_gemini_usage(event: Any, into: ReportedUsage) -> None:
    """``usageMetadata`` on each chunk, cumulative so far: the completion is the
    candidates' tokens plus the thinking tokens."""
    usage = event.get("usageMetadata")
    if not isinstance(usage, dict):
        return
    prompt = _count(usage.get("promptTokenCount"))
    if prompt is not None:
        into.prompt_tokens = prompt
    candidates = _count(usage.get("candidatesTokenCount"))
    thoughts = _count(usage.get("thoughtsTokenCount"))
    if candidates is not None or thoughts is not None:
        into.completion_tokens = (candidates or 0) + (thoughts or 0)
    cached = _count(usage.get("cachedContentTokenCount"))
    if cached is not None:
        into.cached_tokens = cached


# By wire format: every provider not named here speaks OpenAI's.
USAGE_READERS: dict[str, UsageReader] = {
    "anthropic": read_anthropic_usage,
    "google": read_gemini_usage,
}


def usage_reader(provider: str) -> UsageReader:
    return USAGE_READERS.get(provider, read_openai_usage)


def estimate_text_tokens(chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Sequence[Any]) -> int:
    """The messages as sent (OpenAI's ``content`` or Gemini's ``parts``)."""
    chars = 0
    images = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content", message.get("parts"))
        if isinstance(content, str):
            chars += len(content)
            continue
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, str):
                chars += len(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    chars += len(text)
                elif IMAGE_PARTS.intersection(part) or part.get("type") in IMAGE_PARTS:
                    images += 1
    return (
        estimate_text_tokens(chars)
        + images * TOKENS_PER_IMAGE
        + len(messages) * TOKENS_PER_MESSAGE
        + TOKENS_PER_REPLY
    )


def count_tokens(
    reported: ReportedUsage, *, prompt_estimate: int, answer_chars: int
) -> TokenCounts:
    """The provider's counts where it gave them; each missing one estimated
    (the prompt's estimate is made of its messages, the completion's of the text
    streamed)."""
    prompt = reported.prompt_tokens
    completion = reported.completion_tokens
    estimated = False
    if prompt is None:
        prompt = prompt_estimate
        estimated = True
    if completion is None:
        completion = estimate_text_tokens(answer_chars)
        estimated = True
    return TokenCounts(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=min(reported.cached_tokens, prompt),
        estimated=estimated,
    )
