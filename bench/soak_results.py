"""What a soak run found, as saved to bench/results/soak-*.json, and the verdicts
drawn from it: expected faults apart from unexpected errors, whether memory
keeps growing, whether file descriptors and answers in flight went back to idle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from bench.measurement import Latency
from bench.results import RESULTS_DIR, Machine
from bench.soak_mix import Fault, Outcome, is_expected

CHECKPOINT_FRACTIONS = (0.2, 0.6, 1.0)  # of the run, when memory is read under load
# Memory may still grow this much from the middle checkpoint to the last one
# (the larger of the two) before the verdict is that it keeps growing.
RSS_GROWTH_TOLERANCE_MB = 5.0
RSS_GROWTH_TOLERANCE_SHARE = 0.05
# Open file descriptors at the end may exceed the baseline by this many: the
# database pool and the SQLite files it holds may differ by a connection or two.
FD_TOLERANCE = 10


class Snapshot(BaseModel):
    """chatgate's process tree at one moment."""

    at_s: float  # seconds since the load began (negative: before it)
    rss_mb: float
    fds: int
    active_answers: float  # chatgate_active_answers from /metrics


class LogEvent(BaseModel):
    """Log lines of one kind (digits in the message replaced by #)."""

    level: str
    logger: str
    message: str
    count: int
    example: str  # the first such line, shortened


class SoakRun(BaseModel):
    started: str
    kind: str  # "full" (the defaults), "quick" or "custom"
    concurrency: int
    minutes: float
    chunks: int  # per answer
    delay_ms: int  # between chunks
    chatgate_version: str
    commit: str
    machine: Machine
    wall_s: float  # from the first request to the last answer
    outcomes: dict[str, dict[str, int]]  # fault -> what the client saw -> requests
    ttfb: Latency | None
    baseline: Snapshot  # idle, before the load
    checkpoints: list[Snapshot]  # under load, at CHECKPOINT_FRACTIONS of the run
    end: Snapshot  # once the load has drained
    drain_s: float  # from the last answer until ``end``
    peak_rss_mb: float
    server_cpu_s: float  # chatgate's, under load
    upstream_cpu_s: float  # the fake upstream's
    load_cpu_s: float  # the load generator's
    log_events: list[LogEvent]  # chatgate's own log lines, by kind
    access: dict[str, int]  # access log lines by status and outcome

    @property
    def completed(self) -> int:
        return sum(sum(seen.values()) for seen in self.outcomes.values())

    @property
    def complete_answers(self) -> int:
        return self.outcomes.get(Fault.NONE.value, {}).get(Outcome.COMPLETE.value, 0)

    def _errors(self, *, expected: bool) -> dict[str, int]:
        found: dict[str, int] = {}
        for fault_name, seen in self.outcomes.items():
            fault = Fault(fault_name)
            for what, count in seen.items():
                if is_expected(fault, what) != expected or (expected and fault is Fault.NONE):
                    continue  # a clean request's complete answer is no error at all
                key = what if expected else f"{fault_name}: {what}"
                found[key] = found.get(key, 0) + count
        return dict(sorted(found.items(), key=lambda item: -item[1]))

    @property
    def expected_errors(self) -> dict[str, int]:
        """What the injected faults produced, as they should: by what the client saw."""
        return self._errors(expected=True)

    @property
    def unexpected_errors(self) -> dict[str, int]:
        """Everything else that was not a complete answer, as ``fault: what was seen``."""
        return self._errors(expected=False)

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = self.started.replace(":", "").replace("-", "")[:15]
        path = RESULTS_DIR / f"soak-{stamp}-{self.kind}.json"
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path


def load_soak(path: Path) -> SoakRun:
    return SoakRun.model_validate_json(path.read_text())


def latest_full_soak_path() -> Path | None:
    found = sorted(RESULTS_DIR.glob("soak-*-full.json"))
    return found[-1] if found else None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    text: str


def rss_verdict(checkpoints: list[Snapshot]) -> Verdict:
    """Does memory keep growing under a steady load? Judged from the middle
    checkpoint to the last, so that the warm-up of the first part does not count."""
    middle, last = checkpoints[-2].rss_mb, checkpoints[-1].rss_mb
    allowed = max(RSS_GROWTH_TOLERANCE_MB, RSS_GROWTH_TOLERANCE_SHARE * middle)
    growth = last - middle
    if growth > allowed:
        return Verdict(False, f"keeps growing: {growth:+.0f} MB in the last part (> {allowed:.0f})")
    return Verdict(True, f"levels off: {growth:+.0f} MB in the last part (<= {allowed:.0f})")


def fd_verdict(baseline: Snapshot, end: Snapshot) -> Verdict:
    extra = end.fds - baseline.fds
    if extra > FD_TOLERANCE:
        return Verdict(False, f"{extra} more than at baseline (tolerance {FD_TOLERANCE})")
    return Verdict(True, f"back to baseline ({extra:+d}, tolerance {FD_TOLERANCE})")


def active_verdict(end: Snapshot) -> Verdict:
    if end.active_answers == 0:
        return Verdict(True, "none left")
    return Verdict(False, f"{end.active_answers:.0f} answers still counted as streaming")


def errors_verdict(run: SoakRun) -> Verdict:
    unexpected = sum(run.unexpected_errors.values())
    if unexpected:
        return Verdict(False, f"{unexpected:,} unexpected")
    return Verdict(True, "none unexpected")


def load_cost_verdict(run: SoakRun) -> Verdict:
    share = run.load_cpu_s / run.server_cpu_s if run.server_cpu_s > 0 else float("inf")
    if share < 1:
        return Verdict(True, f"load generator cheaper than chatgate ({share:.2f}x)")
    return Verdict(False, f"load generator as costly as chatgate or more ({share:.2f}x)")
