from __future__ import annotations

import orjson
import pytest

from chatgate.models import DEFAULT_RULE, REASONING, rule_for
from chatgate.providers.chat import ChatRequest
from chatgate.providers.openai import build_payload


@pytest.mark.parametrize(
    ("model", "max_tokens", "temperature"),
    [
        ("gpt-4o", 4096, True),
        ("gpt-4-vision-preview", 4096, True),
        ("gpt-4o-mini", None, True),
        ("gpt-4-turbo", None, True),
        ("o1", None, False),
        ("o1-mini", None, False),
        ("o3-mini", None, False),
        ("o4-mini-2025-04-16", None, False),
        ("gpt-5", None, False),
        ("gpt-5.1", None, False),
        ("gpt-5-mini", None, False),
        ("o30", None, True),
        ("gpt-50", None, True),
    ],
)
def test_model_rules(model: str, max_tokens: int | None, temperature: bool) -> None:
    rule = rule_for(model)
    assert rule.max_tokens == max_tokens
    assert rule.temperature is temperature


def test_unknown_model_gets_the_default_rule() -> None:
    assert rule_for("llama-3-70b") is DEFAULT_RULE
    assert rule_for("o3") is REASONING


def test_payload_for_gpt_4o() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    body = orjson.loads(build_payload(ChatRequest("gpt-4o", 0.7, messages), model="gpt-4o"))
    assert body == {
        "model": "gpt-4o",
        "messages": messages,
        "temperature": 0.7,
        "max_tokens": 4096,
        "stream": True,
    }


def test_payload_for_a_reasoning_model_sends_neither_temperature_nor_max_tokens() -> None:
    body = orjson.loads(
        build_payload(ChatRequest("o1-preview", 1.0, [{"role": "user"}]), model="o1-preview")
    )
    assert body == {"model": "o1-preview", "messages": [{"role": "user"}], "stream": True}


def test_payload_without_temperature_leaves_it_to_the_provider() -> None:
    body = orjson.loads(build_payload(ChatRequest("gpt-4-turbo", None, []), model="gpt-4-turbo"))
    assert "temperature" not in body
    assert "max_tokens" not in body
