"""One workload against one system, as measured: requests answered, errors, CPU
time, latencies and peak memory, with the figures derived from them (per 1,000
requests, per 100,000 chunks) computed here in one place."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of unsorted values."""
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


class Latency(BaseModel):
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency | None:
        if not seconds:
            return None
        return cls(p50_ms=percentile(seconds, 50) * 1e3, p99_ms=percentile(seconds, 99) * 1e3)


class Measurement(BaseModel):
    """One workload against one system.

    ``server`` is the process tree the load generator talks to: the fake upstream
    itself for the floor, chatgate for chatgate (every instance's, behind a proxy).
    ``upstream_cpu_s`` is the fake upstream's CPU time behind chatgate (None for the
    floor, where it is the server); ``proxy_cpu_s`` a reverse proxy's in front, if any.
    """

    system: str
    answered: int  # requests answered in full
    errors: dict[str, int]
    wall_s: float
    chunks_per_request: int
    server_cpu_s: float
    upstream_cpu_s: float | None
    proxy_cpu_s: float | None = None
    load_cpu_s: float
    load_processes: int
    ttfb: Latency | None
    total: Latency | None
    peak_rss_mb: float
    cpu_per_1k_runs: list[float] = []  # every repetition's, when this is their median

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def requests_per_s(self) -> float:
        return self.answered / self.wall_s if self.wall_s > 0 else 0.0

    def per_1k_requests(self, cpu_s: float) -> float:
        return cpu_s / max(self.answered, 1) * 1e3

    @property
    def cpu_per_1k_requests(self) -> float:
        return self.per_1k_requests(self.server_cpu_s)

    @property
    def cpu_per_100k_chunks(self) -> float:
        return self.server_cpu_s / max(self.answered * self.chunks_per_request, 1) * 1e5

    @property
    def load_cpu_share(self) -> float:
        """How busy the load generator processes were, as a share of their cores."""
        return self.load_cpu_s / (self.wall_s * self.load_processes) if self.wall_s > 0 else 0.0


def median_run(runs: Sequence[Measurement]) -> Measurement:
    """The repetition with the median server CPU per request, carrying every
    repetition's CPU per 1,000 requests and the errors of them all."""
    ordered = sorted(runs, key=lambda m: m.cpu_per_1k_requests)
    errors: dict[str, int] = {}
    for run in runs:
        for reason, count in run.errors.items():
            errors[reason] = errors.get(reason, 0) + count
    return ordered[(len(ordered) - 1) // 2].model_copy(
        update={"cpu_per_1k_runs": [m.cpu_per_1k_requests for m in runs], "errors": errors}
    )
