"""Masking anything shaped like a token or a provider key in text chatgate did
not write itself: a provider's error message, a log line."""

from __future__ import annotations

import re

# chatgate tokens, OpenAI/Anthropic/Groq/Perplexity keys, Google API keys, and the
# partly starred form providers echo back ("Incorrect API key provided: sk-abc***wxyz").
_SECRET = re.compile(r"\b(cg_|sk-|sk_|key-|gsk_|pplx-|AIza)[-_A-Za-z0-9*.]{6,}")
_MARKERS = ("cg_", "sk", "key-", "pplx-", "AIza")


def redact(text: str) -> str:
    # Substring checks first: most text holds no candidate, and they cost a tenth of the regex.
    if not any(marker in text for marker in _MARKERS):
        return text
    return _SECRET.sub(r"\1[redacted]", text)
