"""chatgate as the benchmark runs it: every feature on. The usage ledger and the
metrics have no switch (always on); the per-user limits and the default token
quotas are set, high enough never to refuse a request of the benchmark, so that
each request pays for being counted and checked as it would in production."""

from __future__ import annotations

from collections.abc import Mapping

# A full run sends about 60,000 chat requests of a few dozen tokens each, at most
# 4,000 at once (the memory case), all as one user.
FEATURE_SETTINGS: dict[str, str] = {
    "CHATGATE_RATE_LIMIT_PER_MINUTE": "100000000",
    "CHATGATE_MAX_STREAMS_PER_USER": "100000",
    "CHATGATE_DEFAULT_TOKENS_PER_DAY": "1000000000000",
    "CHATGATE_DEFAULT_TOKENS_PER_MONTH": "1000000000000",
}
ALWAYS_ON = "the usage ledger and the metrics (always on)"


def describe_settings(settings: Mapping[str, str]) -> str:
    """One line naming what chatgate ran with."""
    if not settings:
        return "chatgate's default settings"
    named = ", ".join(f"`{name}={value}`" for name, value in sorted(settings.items()))
    return f"{ALWAYS_ON}, and {named}"
