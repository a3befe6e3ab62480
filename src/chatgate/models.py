"""Per-model request rules: what each OpenAI model accepts.

A table, not branches: adding a model is one line. The first matching row
wins; a row matches the exact name or, for a family, the name followed by
``-``, ``.`` or nothing (``o3`` matches ``o3`` and ``o3-mini``, not ``o30``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelRule:
    max_tokens: int | None = None  # sent as max_tokens when set
    temperature: bool = True  # reasoning models reject temperature


DEFAULT_RULE = ModelRule()
REASONING = ModelRule(temperature=False)

# (name, is a family, rule)
MODEL_RULES: tuple[tuple[str, bool, ModelRule], ...] = (
    ("gpt-4-vision-preview", False, ModelRule(max_tokens=4096)),
    ("gpt-4o", False, ModelRule(max_tokens=4096)),
    ("o1", True, REASONING),
    ("o3", True, REASONING),
    ("o4", True, REASONING),
    ("gpt-5", True, REASONING),
)


def rule_for(model: str) -> ModelRule:
    for name, family, rule in MODEL_RULES:
        if model == name or (family and model.startswith(name) and model[len(name)] in "-."):
            return rule
    return DEFAULT_RULE
