"""Token counts from each provider's real stream events, and the offline estimate."""

from __future__ import annotations

from typing import Any

from chatgate.usage.counting import (
    ReportedUsage,
    count_tokens,
    estimate_prompt_tokens,
    estimate_text_tokens,
    read_anthropic_usage,
    read_gemini_usage,
    read_openai_usage,
    usage_reader,
)


def read_all(reader: Any, events: list[dict[str, Any]]) -> ReportedUsage:
    usage = ReportedUsage()
    for event in events:
        reader(event, usage)
    return usage


# OpenAI with stream_options.include_usage: every chunk carries "usage": null,
# the last one (no choices) the counts.
OPENAI_STREAM: list[dict[str, Any]] = [
    {
        "id": "chatcmpl-B9",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        "usage": None,
    },
    {
        "id": "chatcmpl-B9",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}],
        "usage": None,
    },
    {
        "id": "chatcmpl-B9",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": None,
    },
    {
        "id": "chatcmpl-B9",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-2024-08-06",
        "choices": [],
        "usage": {
            "prompt_tokens": 1117,
            "completion_tokens": 46,
            "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    },
]


def test_openai_counts_come_from_the_last_chunk_with_cached_tokens() -> None:
    usage = read_all(read_openai_usage, OPENAI_STREAM)
    assert usage == ReportedUsage(prompt_tokens=1117, completion_tokens=46, cached_tokens=1024)


def test_an_openai_stream_without_usage_reports_nothing() -> None:
    assert read_all(read_openai_usage, OPENAI_STREAM[:3]) == ReportedUsage()


def test_groq_reports_in_x_groq() -> None:
    last = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "x_groq": {
            "id": "req_01",
            "usage": {"prompt_tokens": 18, "completion_tokens": 120, "total_tokens": 138},
        },
    }
    assert read_all(read_openai_usage, [last]) == ReportedUsage(18, 120, 0)


ANTHROPIC_STREAM: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 200,
                "cache_read_input_tokens": 1800,
                "output_tokens": 1,
            },
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 10}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    },
    {"type": "message_stop"},
]


def test_anthropic_prompt_adds_cache_tokens_and_output_is_a_running_total() -> None:
    usage = read_all(read_anthropic_usage, ANTHROPIC_STREAM)
    # 25 + 200 + 1800; the last message_delta's 15, not 1 + 10 + 15.
    assert usage == ReportedUsage(prompt_tokens=2025, completion_tokens=15, cached_tokens=1800)


def test_anthropic_output_is_unknown_until_a_message_delta() -> None:
    usage = read_all(read_anthropic_usage, ANTHROPIC_STREAM[:4])
    assert usage == ReportedUsage(prompt_tokens=2025, completion_tokens=None, cached_tokens=1800)


GEMINI_STREAM: list[dict[str, Any]] = [
    {
        "candidates": [{"content": {"parts": [{"text": "The"}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 1043, "totalTokenCount": 1043},
        "modelVersion": "gemini-2.5-flash",
    },
    {
        "candidates": [
            {
                "content": {"parts": [{"text": " answer."}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 1043,
            "candidatesTokenCount": 12,
            "totalTokenCount": 1355,
            "cachedContentTokenCount": 1000,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1043}],
            "thoughtsTokenCount": 300,
        },
        "modelVersion": "gemini-2.5-flash",
    },
]


def test_gemini_completion_counts_the_thinking_tokens() -> None:
    usage = read_all(read_gemini_usage, GEMINI_STREAM)
    assert usage == ReportedUsage(prompt_tokens=1043, completion_tokens=312, cached_tokens=1000)


def test_each_provider_has_its_reader_and_every_other_speaks_openai() -> None:
    assert usage_reader("anthropic") is read_anthropic_usage
    assert usage_reader("google") is read_gemini_usage
    for name in ("openai", "azure", "mistral", "groq", "perplexity", "openrouter", "custom"):
        assert usage_reader(name) is read_openai_usage


def test_text_is_estimated_at_four_characters_a_token_rounded_up() -> None:
    assert estimate_text_tokens(0) == 0
    assert estimate_text_tokens(1) == 1
    assert estimate_text_tokens(8) == 2
    assert estimate_text_tokens(9) == 3


def test_a_prompt_estimate_counts_text_images_and_per_message_overhead() -> None:
    image = "data:image/png;base64," + "A" * 40_000  # its bytes are not text
    messages = [
        {"role": "system", "content": "x" * 40},  # 10
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "y" * 20},  # 5
                {"type": "image_url", "image_url": {"url": image}},  # 765
            ],
        },
        {"role": "user", "parts": [{"text": "z" * 4}, {"inlineData": {"data": "AAAA"}}]},  # 1 + 765
    ]
    assert estimate_prompt_tokens(messages) == 10 + 5 + 765 + 1 + 765 + 3 * 3 + 3


def test_reported_counts_win_and_only_the_missing_ones_are_estimated() -> None:
    prompt = estimate_prompt_tokens([{"role": "user", "content": "x" * 40}])
    both = count_tokens(ReportedUsage(7, 9, 2), prompt_estimate=prompt, answer_chars=400)
    assert (both.prompt_tokens, both.completion_tokens, both.cached_tokens) == (7, 9, 2)
    assert not both.estimated
    cut_short = count_tokens(ReportedUsage(7, None, 0), prompt_estimate=prompt, answer_chars=400)
    assert (cut_short.prompt_tokens, cut_short.completion_tokens) == (7, 100)
    assert cut_short.estimated
    nothing = count_tokens(ReportedUsage(), prompt_estimate=prompt, answer_chars=6)
    assert (nothing.prompt_tokens, nothing.completion_tokens, nothing.total_tokens) == (16, 2, 18)
    assert nothing.estimated
