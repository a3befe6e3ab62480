"""The results chart: CPU per 1,000 requests and time to first byte, per
workload and system, with the Node reference figures marked as such."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.reference import NODE_ADDED_TTFB_P50_MS, NODE_W1_CPU_PER_1K, W1_CPU_GOAL
from bench.results import BenchRun

FLOOR_COLOR, CHATGATE_COLOR, NODE_COLOR = "#9e9e9e", "#1f77b4", "#ff7f0e"
WIDTH = 0.28


def _figure(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


def _bars(axes: Axes, xs: list[float], values: list[float], **style: str) -> None:
    axes.bar(xs, values, WIDTH, **style)  # type: ignore[arg-type]
    for x, value in zip(xs, values, strict=True):
        axes.annotate(_figure(value), (x, value), ha="center", va="bottom", fontsize=7)


def _legend_below(axes: Axes) -> None:
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)


def _cpu_panel(axes: Axes, run: BenchRun) -> None:
    names = [w.workload.name for w in run.workloads]
    xs = [float(x) for x in range(len(names))]
    _bars(
        axes,
        [x - WIDTH / 2 for x in xs],
        [w.floor.cpu_per_1k_requests for w in run.workloads],
        color=FLOOR_COLOR,
        label="floor: the upstream alone",
    )
    _bars(
        axes,
        [x + WIDTH / 2 for x in xs],
        [w.chatgate.cpu_per_1k_requests for w in run.workloads],
        color=CHATGATE_COLOR,
        label="chatgate (the proxy alone)",
    )
    if "W1" in names:
        w1 = names.index("W1")
        _bars(
            axes,
            [w1 + 1.5 * WIDTH],
            [NODE_W1_CPU_PER_1K],
            color="white",
            edgecolor=NODE_COLOR,
            hatch="//",
            label="Node route stack: reference figure, not measured here",
        )
        axes.hlines(
            W1_CPU_GOAL,
            w1 - WIDTH,
            w1 + 2 * WIDTH,
            colors=NODE_COLOR,
            linestyles="dashed",
            label=f"goal for chatgate on W1: {W1_CPU_GOAL:.2f}",
        )
    axes.set_xticks(xs, names)
    axes.set_ylabel("CPU-seconds per 1,000 requests")
    axes.set_title("Server CPU per 1,000 requests")
    axes.margins(y=0.12)
    _legend_below(axes)


def _ttfb_panel(axes: Axes, run: BenchRun) -> None:
    measured = [
        (w.workload.name, w.floor.ttfb.p50_ms, w.chatgate.ttfb.p50_ms)
        for w in run.workloads
        if w.floor.ttfb is not None and w.chatgate.ttfb is not None
    ]
    names = [name for name, _, _ in measured]
    xs = [float(x) for x in range(len(names))]
    floor = [f for _, f, _ in measured]
    ours = [c for _, _, c in measured]
    _bars(
        axes,
        [x - WIDTH / 2 for x in xs],
        floor,
        color=FLOOR_COLOR,
        label="floor: the upstream alone",
    )
    _bars(axes, [x + WIDTH / 2 for x in xs], ours, color=CHATGATE_COLOR, label="chatgate")
    w4 = run.workload("W4")
    if w4 is not None and w4.added_ttfb_p50_ms is not None and "W4" in names:
        x = names.index("W4")
        axes.annotate(
            f"added by chatgate: {w4.added_ttfb_p50_ms:.2f} ms\n"
            f"Node (reference): {NODE_ADDED_TTFB_P50_MS} ms",
            (x + WIDTH, ours[x] * 4),
            ha="right",
            fontsize=7,
            color=NODE_COLOR,
        )
    axes.set_xticks(xs, names)
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
