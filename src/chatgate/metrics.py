"""Prometheus metrics, one registry per app (so several apps can live in one process).

Counted once per request, never per chunk: the relay's hot loop stays clean.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


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

    def count_request(self, method: str, route: str, status: int) -> None:
        key = (method, route, status)
        counter = self._request_counters.get(key)
        if counter is None:  # labels() takes a lock and builds its key on every call
            counter = self._request_counters[key] = self.requests.labels(method, route, status)
        counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
