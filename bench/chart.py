"""The results chart: CPU per 1,000 requests and time to first byte, per
workload and system (the floor, chatgate, the previous run's chatgate when
there is one, and the Node reference: a quoted figure, marked as such, when
Node was not measured), and chatgate's peak memory by open streams."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.measurement import Measurement
from bench.reference import MEMORY_PER_STREAM_GOAL_KB, W1_CPU_FACTOR, NodeFigures, node_figures
from bench.results import BenchRun, WorkloadResult

FLOOR_COLOR, CHATGATE_COLOR, NODE_COLOR = "#9e9e9e", "#1f77b4", "#ff7f0e"
BEFORE_COLOR = "#aec7e8"  # chatgate in the previous run, lighter
WIDTH = 0.2
Pick = Callable[[Measurement], float | None]
System = Callable[[WorkloadResult], Measurement | None]


def _figure(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


def _bars(axes: Axes, xs: list[float], values: list[float], **style: str) -> None:
    axes.bar(xs, values, WIDTH, **style)  # type: ignore[arg-type]
    for x, value in zip(xs, values, strict=True):
        axes.annotate(_figure(value), (x, value), ha="center", va="bottom", fontsize=6)


def _legend_below(axes: Axes) -> None:
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=1)


def _previous(before: BenchRun | None) -> System:
    """chatgate's measurement of the same workload in the previous run."""

    def pick(result: WorkloadResult) -> Measurement | None:
        if before is None:
            return None
        theirs = before.workload(result.workload.name)
        return None if theirs is None else theirs.chatgate

    return pick


def _systems_bars(
    axes: Axes, results: list[WorkloadResult], pick: Pick, before: BenchRun | None
) -> None:
    """A bar per system and workload: the floor, chatgate before and now, and Node."""
    label = "chatgate, previous run" if before is None else f"chatgate at {before.commit}"
    systems: list[tuple[System, float, str, str]] = [
        (lambda r: r.floor, -1.5 * WIDTH, FLOOR_COLOR, "floor: the upstream alone"),
        (_previous(before), -0.5 * WIDTH, BEFORE_COLOR, label),
        (lambda r: r.chatgate, 0.5 * WIDTH, CHATGATE_COLOR, "chatgate, this run (the proxy alone)"),
        (lambda r: r.node, 1.5 * WIDTH, NODE_COLOR, "Node route stack, this run"),
    ]
    for system, offset, color, name in systems:
        points = [
            (x + offset, value)
            for x, result in enumerate(results)
            if (m := system(result)) is not None and (value := pick(m)) is not None
        ]
        if points:
            xs, values = zip(*points, strict=True)
            _bars(axes, list(xs), list(values), color=color, label=name)


def _quoted_w1_bar(axes: Axes, x: int, node: NodeFigures) -> None:
    if node.measured or node.w1_cpu_per_1k is None:
        return
    _bars(
        axes,
        [x + 1.5 * WIDTH],
        [node.w1_cpu_per_1k],
        color="white",
        edgecolor=NODE_COLOR,
        hatch="//",
        label="Node route stack: quoted figure, not measured here",
    )


def _cpu_panel(axes: Axes, run: BenchRun, before: BenchRun | None) -> None:
    names = [w.workload.name for w in run.workloads]
    _systems_bars(axes, run.workloads, lambda m: m.cpu_per_1k_requests, before)
    node = node_figures(run)
    if "W1" in names and node.w1_cpu_per_1k is not None:
        w1 = names.index("W1")
        _quoted_w1_bar(axes, w1, node)
        goal = W1_CPU_FACTOR * node.w1_cpu_per_1k
        axes.hlines(
            goal,
            w1 - 2 * WIDTH,
            w1 + 2 * WIDTH,
            colors=NODE_COLOR,
            linestyles="dashed",
            label=f"goal for chatgate on W1: {goal:.2f} ({W1_CPU_FACTOR}x Node)",
        )
    axes.set_xticks(range(len(names)), names)
    axes.set_ylabel("CPU-seconds per 1,000 requests")
    axes.set_title("Server CPU per 1,000 requests")
    axes.margins(y=0.12)
    _legend_below(axes)


def _ttfb_p50(m: Measurement) -> float | None:
    return None if m.ttfb is None else m.ttfb.p50_ms


def _ttfb_panel(axes: Axes, run: BenchRun, before: BenchRun | None) -> None:
    measured = [w for w in run.workloads if w.floor.ttfb is not None and w.chatgate.ttfb]
    names = [w.workload.name for w in measured]
    _systems_bars(axes, measured, _ttfb_p50, before)
    w4 = run.workload("W4")
    node = node_figures(run)
    if w4 is not None and w4.added_ttfb_p50_ms is not None:
        theirs = "-" if node.added_ttfb_p50_ms is None else f"{node.added_ttfb_p50_ms:.2f} ms"
        kind = "this run" if node.measured else "quoted"
        p99 = "-" if w4.added_ttfb_p99_ms is None else f"{w4.added_ttfb_p99_ms:.2f} ms"
        axes.text(
            0.98,
            0.97,
            f"W4, added to the first byte\nby chatgate: {w4.added_ttfb_p50_ms:.2f} ms p50,"
            f" {p99} p99\nby Node ({kind}): {theirs} p50",
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color=NODE_COLOR,
        )
    axes.set_xticks(range(len(names)), names)
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    axes.set_ylabel("milliseconds (log scale)")
    axes.set_title("Time to first byte, p50")
    axes.margins(y=0.15)
    _legend_below(axes)


def _memory_line(axes: Axes, run: BenchRun, color: str, label: str) -> None:
    if run.memory is None:
        return
    streams = [0] + [p.streams for p in run.memory.points]
    peaks = [run.memory.fixed_mb] + [p.run.peak_rss_mb for p in run.memory.points]
    slope = run.memory.kb_per_stream
    axes.plot(streams, peaks, color=color, marker="o", label=f"{label}: {slope:.1f} KB per stream")
    axes.plot(0, run.memory.idle_rss_mb, color=color, marker="x", linestyle="none")


def _memory_panel(axes: Axes, run: BenchRun, before: BenchRun | None) -> None:
    if before is not None:
        _memory_line(axes, before, BEFORE_COLOR, f"chatgate at {before.commit}")
    _memory_line(axes, run, CHATGATE_COLOR, "chatgate, peak RSS")
    if run.memory is not None:
        top = run.memory.points[-1].streams
        goal = run.memory.fixed_mb + MEMORY_PER_STREAM_GOAL_KB * top / 1e3
        axes.plot(
            [0, top],
            [run.memory.fixed_mb, goal],
            color=NODE_COLOR,
            linestyle="dashed",
            label=f"goal: {MEMORY_PER_STREAM_GOAL_KB:g} KB per stream",
        )
    axes.set_xlabel("slow streams open at once")
    axes.set_ylabel("MB resident, peak (process tree); x: idle")
    axes.set_title("Memory by open streams")
    axes.margins(y=0.2)
    axes.legend(fontsize=7, loc="upper left")


def draw_chart(run: BenchRun, path: Path, *, before: BenchRun | None = None) -> None:
    # A bare Figure draws to files without pyplot's global state or a display.
    figure = Figure(figsize=(15, 5.6), layout="constrained")
    cpu, ttfb, memory = figure.subplots(1, 3)
    _cpu_panel(cpu, run, before)
    _ttfb_panel(ttfb, run, before)
    _memory_panel(memory, run, before)
    figure.suptitle(
        f"chatgate {run.chatgate_version} ({run.commit}) on {run.machine.cpus} CPUs,"
        f" {run.workers} worker(s)"
    )
    figure.savefig(path, dpi=100)
