"""/v1 requests in the usage ledger and under token quotas, as on the Chatbot UI routes."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from sqlalchemy import select

from chatgate.db.usage_tables import usage
from tests.api.conftest import Gate, OpenGate, auth
from tests.api.test_v1 import ask, sdk

# name -> (provider, model, prompt, completion) as the fake reports them
ANSWERS = {
    "openai/gpt-4o": ("openai", "gpt-4o", 5, 9),
    "anthropic/claude-sonnet-4-5": ("anthropic", "claude-sonnet-4-5", 10, 12),
    "google/gemini-2.5-flash": ("google", "gemini-2.5-flash", 10, 1),
    "mistral/mistral-large-latest": ("mistral", "mistral-large-latest", 5, 9),
}
KEYS = {
    "openai_key": "sk-ledger-0001",
    "anthropic_api_key": "sk-ant-ledger-0002",
    "google_gemini_api_key": "gem-ledger-0003",
    "mistral_api_key": "mistral-ledger-0004",
}


async def ledger_rows(gate: Gate) -> list[Any]:
    assert await gate.runtime.usage.ledger.flush()
    async with gate.runtime.db.engine.connect() as conn:
        return list((await conn.execute(select(usage).order_by(usage.c.id))).all())


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("name", sorted(ANSWERS))
async def test_each_answer_leaves_a_row_with_the_providers_counts(
    gate: Gate, name: str, stream: bool
) -> None:
    token = await gate.create_user(**KEYS)
    async with sdk(gate, token) as client:
        if stream:
            chunks = await client.chat.completions.create(model=name, messages=ask(), stream=True)
            async for _chunk in chunks:
                pass
        else:
            await client.chat.completions.create(model=name, messages=ask())
    [row] = await ledger_rows(gate)
    provider, model, prompt, completion = ANSWERS[name]
    assert (row.route, row.provider, row.model) == ("/v1/chat/completions", provider, model)
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (prompt, completion, False)
    assert row.outcome == "complete"
    assert 0 < row.ttfb_ms <= row.duration_ms


async def test_a_cut_off_answer_counts_what_was_streamed(gate: Gate) -> None:
    token = await gate.create_user(**KEYS)
    response = await gate.client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": ask("#fake error_after=3"), "stream": True},
        headers=auth(token),
    )
    assert response.status_code == 200
    [row] = await ledger_rows(gate)
    assert row.outcome == "cut_off"
    assert row.completion_tokens > 0
    assert row.estimated


async def test_a_request_refused_before_the_provider_leaves_no_row(gate: Gate) -> None:
    token = await gate.create_user(**KEYS)
    async with sdk(gate, token) as client:
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="nowhere/model", messages=ask())
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="groq/llama3-8b-8192", messages=ask())
    assert await ledger_rows(gate) == []


async def test_over_quota_is_a_rate_limit_error_the_sdk_does_not_retry(
    open_gate: OpenGate,
) -> None:
    async with open_gate(default_tokens_per_day=10) as gate:
        token = await gate.create_user(**KEYS)
        async with sdk(gate, token) as client:
            await client.chat.completions.create(model="gpt-4o", messages=ask())  # 14 of 10
            with pytest.raises(openai.RateLimitError) as refused:
                await client.chat.completions.create(model="gpt-4o", messages=ask())
            # With the SDK's default retries: x-should-retry: false stops them.
            retrying = client.with_options(max_retries=2)
            with pytest.raises(openai.RateLimitError):
                await retrying.chat.completions.create(model="gpt-4o", messages=ask())
        assert len(await ledger_rows(gate)) == 1
        refusals = [line for line in gate.log.lines if "POST /v1/chat/completions 429" in line]
        assert len(refusals) == 2  # one for each call: none retried
    assert refused.value.code == "insufficient_quota"
    assert refused.value.message.endswith("Daily token quota of 10 reached; it resets at 00:00 UTC")
    headers = refused.value.response.headers
    assert headers["x-should-retry"] == "false"
    assert int(headers["retry-after"]) > 0
