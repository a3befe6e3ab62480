"""The results chart: CPU per 1,000 requests and time to first byte, per
workload and system: the floor, chatgate and the Node reference (a quoted
figure, marked as such, when Node was not measured)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.reference import W1_CPU_FACTOR, NodeFigures, node_figures
from bench.results import BenchRun, Measurement, WorkloadResult

FLOOR_COLOR, CHATGATE_COLOR, NODE_COLOR = "#9e9e9e", "#1f77b4", "#ff7f0e"
WIDTH = 0.28
Pick = Callable[[Measurement], float | None]


def _figure(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


def _bars(axes: Axes, xs: list[float], values: list[float], **style: str) -> None:
    axes.bar(xs, values, WIDTH, **style)  # type: ignore[arg-type]
    for x, value in zip(xs, values, strict=True):
        axes.annotate(_figure(value), (x, value), ha="center", va="bottom", fontsize=7)


def _legend_below(axes: Axes) -> None:
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)


def _systems_bars(axes: Axes, results: list[WorkloadResult], pick: Pick) -> None:
    """A bar per system and workload: the floor, chatgate and Node where measured."""
    with_node = any(r.node is not None for r in results)
    offsets = (-WIDTH, 0.0, WIDTH) if with_node else (-WIDTH / 2, WIDTH / 2, 0.0)
    systems: list[tuple[Callable[[WorkloadResult], Measurement | None], float, str, str]] = [
        (lambda r: r.floor, offsets[0], FLOOR_COLOR, "floor: the upstream alone"),
        (lambda r: r.chatgate, offsets[1], CHATGATE_COLOR, "chatgate (the proxy alone)"),
        (lambda r: r.node, offsets[2], NODE_COLOR, "Node route stack, this run"),
    ]
    for system, offset, color, label in systems:
        points = [
            (x + offset, value)
            for x, result in enumerate(results)
            if (m := system(result)) is not None and (value := pick(m)) is not None
        ]
        if points:
            xs, values = zip(*points, strict=True)
            _bars(axes, list(xs), list(values), color=color, label=label)


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


def _cpu_panel(axes: Axes, run: BenchRun) -> None:
    names = [w.workload.name for w in run.workloads]
    _systems_bars(axes, run.workloads, lambda m: m.cpu_per_1k_requests)
    node = node_figures(run)
    if "W1" in names and node.w1_cpu_per_1k is not None:
        w1 = names.index("W1")
        _quoted_w1_bar(axes, w1, node)
        goal = W1_CPU_FACTOR * node.w1_cpu_per_1k
        axes.hlines(
            goal,
            w1 - 1.5 * WIDTH,
            w1 + 1.5 * WIDTH,
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


def _ttfb_panel(axes: Axes, run: BenchRun) -> None:
    measured = [w for w in run.workloads if w.floor.ttfb is not None and w.chatgate.ttfb]
    names = [w.workload.name for w in measured]
    _systems_bars(axes, measured, _ttfb_p50)
    w4 = run.workload("W4")
    node = node_figures(run)
    if w4 is not None and w4.added_ttfb_p50_ms is not None:
        theirs = "-" if node.added_ttfb_p50_ms is None else f"{node.added_ttfb_p50_ms:.2f} ms"
        kind = "this run" if node.measured else "quoted"
        axes.text(
            0.98,
            0.97,
            f"W4, added to the first byte\nby chatgate: {w4.added_ttfb_p50_ms:.2f} ms"
            f"\nby Node ({kind}): {theirs}",
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


def draw_chart(run: BenchRun, path: Path) -> None:
    # A bare Figure draws to files without pyplot's global state or a display.
    figure = Figure(figsize=(11, 5.2), layout="constrained")
    cpu, ttfb = figure.subplots(1, 2)
    _cpu_panel(cpu, run)
    _ttfb_panel(ttfb, run)
    figure.suptitle(
        f"chatgate {run.chatgate_version} ({run.commit}) on {run.machine.cpus} CPUs,"
        f" {run.workers} worker(s)"
    )
    figure.savefig(path, dpi=110)
