"""What a benchmark run found, as saved to bench/results/*.json and read back by
the report. Derived figures (per 1,000 requests, ratios) are computed here, in
one place, for the table on stdout and for the documentation alike."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from bench.workloads import Workload

RESULTS_DIR = Path(__file__).parent / "results"


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
    itself for the floor, chatgate for chatgate. ``upstream_cpu_s`` is the fake
    upstream's CPU time behind chatgate (None for the floor, where it is the server).
    """

    system: str
    answered: int  # requests answered in full
    errors: dict[str, int]
    wall_s: float
    chunks_per_request: int
    server_cpu_s: float
    upstream_cpu_s: float | None
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


class WorkloadResult(BaseModel):
    workload: Workload
    floor: Measurement
    chatgate: Measurement
    node: Measurement | None = None  # the Node reference, when it ran

    def _added_ttfb_p50_ms(self, proxy: Measurement | None) -> float | None:
        if proxy is None or self.floor.ttfb is None or proxy.ttfb is None:
            return None
        return proxy.ttfb.p50_ms - self.floor.ttfb.p50_ms

    @property
    def added_ttfb_p50_ms(self) -> float | None:
        """What chatgate adds to the upstream's time to first byte, p50."""
        return self._added_ttfb_p50_ms(self.chatgate)

    @property
    def node_added_ttfb_p50_ms(self) -> float | None:
        """What the Node reference adds to the upstream's time to first byte, p50."""
        return self._added_ttfb_p50_ms(self.node)


class Machine(BaseModel):
    cpus: int
    cpu_model: str
    python: str
    kernel: str
    load_average: str  # /proc/loadavg when the run began: other work on the machine


class BenchRun(BaseModel):
    started: str
    duration_s: float
    quick: bool
    repeats: int  # measurements of each workload and system; the median is shown
    workers: int
    load_processes: int
    chatgate_version: str
    commit: str
    machine: Machine
    chatgate_idle_rss_mb: float  # before the first request
    workloads: list[WorkloadResult]
    scaling: Measurement | None  # W1 through chatgate with more workers, when measured
    scaling_workers: int
    # W5: W1's load through /v1/chat/completions (streamed, with usage), when measured
    openai_api: Measurement | None = None
    node_version: str | None = None  # of the Node reference, when it ran
    node_skipped: str | None = None  # why the Node reference did not run

    @property
    def node_measured(self) -> bool:
        return any(w.node is not None for w in self.workloads)

    def workload(self, name: str) -> WorkloadResult | None:
        return next((w for w in self.workloads if w.workload.name == name), None)

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        kind = "quick" if self.quick else "full"
        stamp = self.started.replace(":", "").replace("-", "")[:15]
        path = RESULTS_DIR / f"bench-{stamp}-{kind}.json"
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path


def load_run(path: Path) -> BenchRun:
    return BenchRun.model_validate_json(path.read_text())


def latest_full_run_path() -> Path | None:
    found = sorted(RESULTS_DIR.glob("bench-*-full.json"))
    return found[-1] if found else None
