"""Per-model request rules: the output limit sent as ``max_tokens`` and
whether the model takes a temperature.

A table, not branches: adding a model is one line. The first matching row
wins; a row matches the exact name or, for a family, the name followed by
``-``, ``.`` or nothing (``o3`` matches ``o3`` and ``o3-mini``, not ``o30``).
Output limits are those Chatbot UI sends (its ``CHAT_SETTING_LIMITS``), plus
newer models; a model not listed gets no ``max_tokens`` unless its provider
requires one (Anthropic: ``DEFAULT_MAX_TOKENS``).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class ModelRule:
    max_tokens: int | None = None  # sent as max_tokens when set
    temperature: bool = True  # reasoning models reject temperature


DEFAULT_RULE = ModelRule()
REASONING = ModelRule(temperature=False)

# (name, is a family, rule)
MODEL_RULES: tuple[tuple[str, bool, ModelRule], ...] = (
    # OpenAI
    ("gpt-4-vision-preview", False, ModelRule(max_tokens=4096)),
    ("gpt-4o", False, ModelRule(max_tokens=4096)),
    ("o1", True, REASONING),
    ("o3", True, REASONING),
    ("o4", True, REASONING),
    ("gpt-5", True, REASONING),
    # Anthropic
    ("claude-2.1", False, ModelRule(max_tokens=4096)),
    ("claude-instant-1.2", False, ModelRule(max_tokens=4096)),
    ("claude-3-haiku-20240307", False, ModelRule(max_tokens=4096)),
    ("claude-3-sonnet-20240229", False, ModelRule(max_tokens=4096)),
    ("claude-3-opus-20240229", False, ModelRule(max_tokens=4096)),
    ("claude-3-5-sonnet-20240620", False, ModelRule(max_tokens=4096)),
    ("claude-3-5-sonnet-20241022", False, ModelRule(max_tokens=8192)),
    ("claude-3-5-haiku-20241022", False, ModelRule(max_tokens=8192)),
    ("claude-3-7-sonnet-20250219", False, ModelRule(max_tokens=64000)),
    ("claude-sonnet-4-20250514", False, ModelRule(max_tokens=64000)),
    ("claude-opus-4-20250514", False, ModelRule(max_tokens=32000)),
    ("claude-opus-4-1-20250805", False, ModelRule(max_tokens=32000)),
    # Mistral
    ("mistral-tiny", False, ModelRule(max_tokens=2000)),
    ("mistral-small-latest", False, ModelRule(max_tokens=2000)),
    ("mistral-medium-latest", False, ModelRule(max_tokens=2000)),
    ("mistral-large-latest", False, ModelRule(max_tokens=16000)),
    # Groq
    ("llama3-8b-8192", False, ModelRule(max_tokens=8192)),
    ("llama3-70b-8192", False, ModelRule(max_tokens=8192)),
    ("mixtral-8x7b-32768", False, ModelRule(max_tokens=4096)),
    ("gemma-7b-it", False, ModelRule(max_tokens=8192)),
)


def rule_for(model: str) -> ModelRule:
    for name, family, rule in MODEL_RULES:
        if model == name or (family and model.startswith(name) and model[len(name)] in "-."):
            return rule
    return DEFAULT_RULE


# The model catalogue: what GET /v1/models lists for a caller holding the
# provider's key, and what a bare model name resolves to. One line a model,
# ``provider model``: Chatbot UI's model lists and today's current models.
# Any other name may still be asked for as ``<provider>/<model>``.
CATALOGUE_LINES = """
openai gpt-5
openai gpt-5-mini
openai gpt-5-nano
openai gpt-4.1
openai gpt-4.1-mini
openai gpt-4.1-nano
openai gpt-4o
openai gpt-4o-mini
openai gpt-4-turbo-preview
openai gpt-4-vision-preview
openai gpt-4
openai gpt-3.5-turbo
openai o1
openai o3
openai o3-mini
openai o4-mini
anthropic claude-opus-4-1-20250805
anthropic claude-opus-4-20250514
anthropic claude-sonnet-4-5
anthropic claude-sonnet-4-20250514
anthropic claude-haiku-4-5
anthropic claude-3-7-sonnet-20250219
anthropic claude-3-5-sonnet-20241022
anthropic claude-3-5-sonnet-20240620
anthropic claude-3-5-haiku-20241022
anthropic claude-3-opus-20240229
anthropic claude-3-sonnet-20240229
anthropic claude-3-haiku-20240307
anthropic claude-2.1
anthropic claude-instant-1.2
google gemini-2.5-pro
google gemini-2.5-flash
google gemini-2.5-flash-lite
google gemini-2.0-flash
google gemini-1.5-pro-latest
google gemini-1.5-flash
google gemini-pro
google gemini-pro-vision
mistral mistral-large-latest
mistral mistral-medium-latest
mistral mistral-small-latest
mistral codestral-latest
mistral pixtral-large-latest
mistral ministral-8b-latest
mistral mistral-tiny
groq llama-3.3-70b-versatile
groq llama-3.1-8b-instant
groq openai/gpt-oss-120b
groq llama3-70b-8192
groq llama3-8b-8192
groq mixtral-8x7b-32768
groq gemma-7b-it
perplexity sonar
perplexity sonar-pro
perplexity sonar-reasoning
perplexity sonar-reasoning-pro
perplexity sonar-deep-research
openrouter openai/gpt-4o
openrouter anthropic/claude-sonnet-4.5
openrouter google/gemini-2.5-flash
openrouter meta-llama/llama-3.3-70b-instruct
azure gpt-3.5-turbo
azure gpt-4-turbo-preview
azure gpt-4-vision-preview
"""

CATALOGUE: tuple[tuple[str, str], ...] = tuple(
    (provider, model)
    for provider, model in (line.split() for line in CATALOGUE_LINES.strip().splitlines())
)
