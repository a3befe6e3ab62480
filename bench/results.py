"""What a benchmark run found, as saved to bench/results/*.json and read back by
the report. Derived figures (ratios to the floor) are computed here, in one
place, for the table on stdout and for the documentation alike."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from bench.case_results import ClusterResult, MemorySlope
from bench.measurement import Measurement
from bench.workloads import Workload

RESULTS_DIR = Path(__file__).parent / "results"


class WorkloadResult(BaseModel):
    workload: Workload
    floor: Measurement
    chatgate: Measurement
    node: Measurement | None = None  # the Node reference, when it ran

    def added_ttfb_ms(self, proxy: Measurement | None, *, p99: bool = False) -> float | None:
        """What ``proxy`` adds to the upstream's time to first byte, at p50 or p99."""
        if proxy is None or self.floor.ttfb is None or proxy.ttfb is None:
            return None
        if p99:
            return proxy.ttfb.p99_ms - self.floor.ttfb.p99_ms
        return proxy.ttfb.p50_ms - self.floor.ttfb.p50_ms

    @property
    def added_ttfb_p50_ms(self) -> float | None:
        """What chatgate adds to the upstream's time to first byte, p50."""
        return self.added_ttfb_ms(self.chatgate)

    @property
    def added_ttfb_p99_ms(self) -> float | None:
        return self.added_ttfb_ms(self.chatgate, p99=True)

    @property
    def node_added_ttfb_p50_ms(self) -> float | None:
        """What the Node reference adds to the upstream's time to first byte, p50."""
        return self.added_ttfb_ms(self.node)


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
    scaling_w3: Measurement | None = None  # W3 likewise
    # W5: W1's load through /v1/chat/completions (streamed, with usage), when measured
    openai_api: Measurement | None = None
    # W1 signed in by Chatbot UI's Supabase session cookie instead of a token
    cookie_sign_in: Measurement | None = None
    cookie_sign_in_skipped: str | None = None  # why it did not run
    memory: MemorySlope | None = None  # peak memory by number of open streams
    cluster: ClusterResult | None = None  # two instances behind nginx, sharing state
    cluster_skipped: str | None = None  # why it did not run
    # The CHATGATE_ settings chatgate ran with beyond its defaults
    chatgate_settings: dict[str, str] = {}
    node_version: str | None = None  # of the Node reference, when it ran
    node_skipped: str | None = None  # why the Node reference did not run
    # Where the figures come from when not straight from `python -m bench`
    note: str | None = None

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
