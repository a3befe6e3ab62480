"""The run docs/performance.md shows and the one it showed before, both kept
beside the page as small JSON files, so that the page and its chart can show a
run's figures beside the previous run's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.measurement import Measurement
from bench.results import BenchRun, load_run
from bench.tables import Rows

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHOWN = DOCS / "performance-run.json"
BASELINE = DOCS / "performance-baseline.json"

Figure = Callable[[BenchRun], float | None]


def keep(run: BenchRun, path: Path) -> None:
    path.write_text(run.model_dump_json(indent=1) + "\n")


def rotate(run: BenchRun, *, shown: Path = SHOWN, baseline: Path = BASELINE) -> BenchRun | None:
    """Record ``run`` as the one the page shows. The run it showed until now becomes
    the baseline, unless it is this same run (the page rendered again) or a quick
    run (a smoke run rendered by mistake). The baseline to show beside ``run``."""
    previous = load_run(shown) if shown.is_file() else None
    if previous is not None and previous.started != run.started and not previous.quick:
        keep(previous, baseline)
    keep(run, shown)
    return load_run(baseline) if baseline.is_file() else None


def _workload(name: str, pick: Callable[[Measurement], float | None], node: bool = False) -> Figure:
    def figure(run: BenchRun) -> float | None:
        result = run.workload(name)
        if result is None:
            return None
        measured = result.node if node else result.chatgate
        return None if measured is None else pick(measured)

    return figure


def _cpu(m: Measurement | None) -> float | None:
    return None if m is None else m.cpu_per_1k_requests


def _ttfb_p50(m: Measurement) -> float | None:
    return None if m.ttfb is None else m.ttfb.p50_ms


def _added(name: str, *, p99: bool) -> Figure:
    def figure(run: BenchRun) -> float | None:
        result = run.workload(name)
        return None if result is None else result.added_ttfb_ms(result.chatgate, p99=p99)

    return figure


def _cluster(run: BenchRun, workload: str) -> Measurement | None:
    if run.cluster is None:
        return None
    return run.cluster.w1 if workload == "w1" else run.cluster.w3


# The figures compared, lower being better for each: (label, figure, digits).
FIGURES: list[tuple[str, Figure, int]] = [
    ("W1 CPU-s / 1k req", _workload("W1", _cpu), 3),
    ("W2 CPU-s / 1k req", _workload("W2", _cpu), 3),
    ("W3 CPU-s / 1k req", _workload("W3", _cpu), 3),
    ("W4 CPU-s / 1k req", _workload("W4", _cpu), 3),
    ("W3 TTFB p50 ms", _workload("W3", _ttfb_p50), 1),
    ("W4 TTFB added, p50 ms", _added("W4", p99=False), 2),
    ("W4 TTFB added, p99 ms", _added("W4", p99=True), 2),
    ("W3 peak RSS MB", _workload("W3", lambda m: m.peak_rss_mb), 0),
    ("idle RSS MB", lambda r: r.chatgate_idle_rss_mb, 0),
    (
        "memory per open stream KB",
        lambda r: None if r.memory is None else r.memory.kb_per_stream,
        1,
    ),
    ("W1 with more workers, CPU-s / 1k req", lambda r: _cpu(r.scaling), 3),
    ("W3 with more workers, CPU-s / 1k req", lambda r: _cpu(r.scaling_w3), 3),
    ("W5 (/v1) CPU-s / 1k req", lambda r: _cpu(r.openai_api), 3),
    ("W1 by Supabase cookie, CPU-s / 1k req", lambda r: _cpu(r.cookie_sign_in), 3),
    ("W1 on 2 instances + nginx, CPU-s / 1k req", lambda r: _cpu(_cluster(r, "w1")), 3),
    ("W3 on 2 instances + nginx, CPU-s / 1k req", lambda r: _cpu(_cluster(r, "w3")), 3),
    ("Node W1 CPU-s / 1k req", _workload("W1", _cpu, node=True), 3),
    ("Node W3 CPU-s / 1k req", _workload("W3", _cpu, node=True), 3),
]


def run_label(run: BenchRun) -> str:
    return f"{run.started[:10]}, `{run.commit}`"


def comparison_headers(before: BenchRun, after: BenchRun) -> list[str]:
    return ["figure", f"before ({run_label(before)})", f"after ({run_label(after)})", "change"]


def _show(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def comparison_rows(before: BenchRun, after: BenchRun) -> Rows:
    """Every figure either run has, before and after, and by how much it changed."""
    rows = []
    for label, figure, digits in FIGURES:
        old, new = figure(before), figure(after)
        if old is None and new is None:
            continue
        change = "-"
        if old is not None and new is not None and old > 0:
            percent = round(100 * (new - old) / old)
            change = f"{percent:+d}%" if percent else "0%"
        rows.append([label, _show(old, digits), _show(new, digits), change])
    return rows
