"""Prometheus metrics, one registry per app (so several apps can live in one process).

Counted once per request, never per chunk: the relay's hot loop stays clean.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from chatgate.db.usage_queries import UsageRow

# Model names come from callers: past this many per provider, the rest share one label.
MAX_MODEL_LABELS = 100
TTFB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _running_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # scraped from outside the event loop
        return 0.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "chatgate_http_requests",
            "HTTP requests answered, by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.answers = Counter(
            "chatgate_answers",
            "Answers that started streaming, by how they ended",
            ["outcome"],
            registry=self.registry,
        )
        self._request_counters: dict[tuple[str, str, int], Any] = {}
        # Bound once: labels() looks its child up on every call.
        self.answers_complete = self.answers.labels("complete")
        self.answers_client_gone = self.answers.labels("client_gone")
        self.answers_cut_off = self.answers.labels("cut_off")
        self.active_answers = Gauge(
            "chatgate_active_answers", "Answers streaming now", registry=self.registry
        )
        Gauge(
            "chatgate_event_loop_tasks",
            "asyncio tasks alive in this process",
            registry=self.registry,
        ).set_function(_running_tasks)

        self._add_usage_metrics()

    def _add_usage_metrics(self) -> None:
        self.tokens = Counter(
            "chatgate_tokens",
            "Tokens of answered chat requests, by provider, model and kind"
            " (prompt, completion, cached: the part of the prompt read from a cache)",
            ["provider", "model", "kind"],
            registry=self.registry,
        )
        self.time_to_first_byte = Histogram(
            "chatgate_time_to_first_byte_seconds",
            "From sending a chat request upstream to its first answer text, by provider",
            ["provider"],
            buckets=TTFB_BUCKETS,
            registry=self.registry,
        )
        self.usage_rows_dropped = Counter(
            "chatgate_usage_rows_dropped",
            "Usage ledger rows dropped: the database was unreachable for too long",
            registry=self.registry,
        )
        self.usage_rows_buffered = Gauge(
            "chatgate_usage_rows_buffered",
            "Usage ledger rows waiting to be written",
            registry=self.registry,
        )
        self.quota_refusals = Counter(
            "chatgate_quota_refusals",
            "Chat requests refused for a token quota, by period (day, month)",
            ["period"],
            registry=self.registry,
        )
        self._token_counters: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self._models: dict[str, set[str]] = {}
        self._ttfb: dict[str, Any] = {}

    def count_usage(self, row: UsageRow) -> None:
        """A ledger row's tokens and time to first byte."""
        counters = self._token_counters.get((row.provider, row.model))
        if counters is None:
            counters = self._bind_tokens(row.provider, row.model)
        prompt, completion, cached = counters
        if row.prompt_tokens:
            prompt.inc(row.prompt_tokens)
        if row.completion_tokens:
            completion.inc(row.completion_tokens)
        if row.cached_tokens:
            cached.inc(row.cached_tokens)
        if row.ttfb_ms is not None:
            histogram = self._ttfb.get(row.provider)
            if histogram is None:
                histogram = self._ttfb[row.provider] = self.time_to_first_byte.labels(row.provider)
            histogram.observe(row.ttfb_ms / 1000)

    def _bind_tokens(self, provider: str, model: str) -> tuple[Any, Any, Any]:
        models = self._models.setdefault(provider, set())
        if model not in models and len(models) >= MAX_MODEL_LABELS:
            model = "other"  # not kept by name: the table stays bounded too
        else:
            models.add(model)
        key = (provider, model)
        counters = self._token_counters.get(key)
        if counters is None:
            counters = self._token_counters[key] = (
                self.tokens.labels(provider, model, "prompt"),
                self.tokens.labels(provider, model, "completion"),
                self.tokens.labels(provider, model, "cached"),
            )
        return counters

    def count_request(self, method: str, route: str, status: int) -> None:
        key = (method, route, status)
        counter = self._request_counters.get(key)
        if counter is None:  # labels() takes a lock and builds its key on every call
            counter = self._request_counters[key] = self.requests.labels(method, route, status)
        counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
