"""The results chart: CPU per 1,000 requests and time to first byte, per
workload and system, with the Node reference figures marked as such."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.reference import NODE_ADDED_TTFB_P50_MS, NODE_W1_CPU_PER_1K, W1_CPU_GOAL
from bench.results import BenchRun

FLOOR_COLOR, CHATGATE_COLOR, NODE_COLOR = "#9e9e9e", "#1f77b4", "#ff7f0e"
WIDTH = 0.28


def _label_bars(axes: Axes, xs: list[float], values: list[float], unit: str) -> None:
    for x, value in zip(xs, values, strict=True):
        axes.annotate(
            f"{value:.2f}{unit}", (x, value), ha="center", va="bottom", fontsize=7, rotation=90
        )


def _cpu_panel(axes: Axes, run: BenchRun) -> None:
    names = [w.workload.name for w in run.workloads]
    xs = list(range(len(names)))
    floor = [w.floor.cpu_per_1k_requests for w in run.workloads]
    ours = [w.chatgate.cpu_per_1k_requests for w in run.workloads]
    left, right = [x - WIDTH / 2 for x in xs], [x + WIDTH / 2 for x in xs]
    axes.bar(left, floor, WIDTH, color=FLOOR_COLOR, label="floor: the upstream alone")
    axes.bar(right, ours, WIDTH, color=CHATGATE_COLOR, label="chatgate (proxy only)")
    _label_bars(axes, left, floor, "")
    _label_bars(axes, right, ours, "")
    if "W1" in names:
        w1 = names.index("W1")
        axes.bar(
            [w1 + 1.5 * WIDTH],
            [NODE_W1_CPU_PER_1K],
            WIDTH,
            color="white",
            edgecolor=NODE_COLOR,
            hatch="//",
            label="Node route stack (reference figure, not measured here)",
        )
        axes.hlines(
            W1_CPU_GOAL,
            w1 - WIDTH,
            w1 + 2 * WIDTH,
            colors=NODE_COLOR,
            linestyles="dashed",
            label=f"goal on W1: {W1_CPU_GOAL:.2f}",
        )
    axes.set_xticks(xs, names)
    axes.set_yscale("log")
    axes.set_ylabel("CPU-seconds per 1,000 requests (log)")
    axes.set_title("Server CPU per 1,000 requests")
    axes.legend(fontsize=7, loc="upper left")


def _ttfb_panel(axes: Axes, run: BenchRun) -> None:
    measured = [w for w in run.workloads if w.floor.ttfb and w.chatgate.ttfb]
    names = [w.workload.name for w in measured]
    xs = list(range(len(names)))
    floor = [w.floor.ttfb.p50_ms for w in measured if w.floor.ttfb]
    ours = [w.chatgate.ttfb.p50_ms for w in measured if w.chatgate.ttfb]
    left, right = [x - WIDTH / 2 for x in xs], [x + WIDTH / 2 for x in xs]
    axes.bar(left, floor, WIDTH, color=FLOOR_COLOR, label="floor: the upstream alone")
    axes.bar(right, ours, WIDTH, color=CHATGATE_COLOR, label="chatgate")
    _label_bars(axes, left, floor, "")
    _label_bars(axes, right, ours, "")
    w4 = run.workload("W4")
    if w4 is not None and w4.added_ttfb_p50_ms is not None and "W4" in names:
        axes.annotate(
            f"W4 added: {w4.added_ttfb_p50_ms:.2f} ms\n"
            f"(Node reference: {NODE_ADDED_TTFB_P50_MS} ms)",
            (names.index("W4"), max(ours)),
            ha="center",
            fontsize=7,
            color=NODE_COLOR,
        )
    axes.set_xticks(xs, names)
    axes.set_yscale("log")
    axes.set_ylabel("milliseconds (log)")
    axes.set_title("Time to first byte, p50")
    axes.legend(fontsize=7, loc="upper left")


def draw_chart(run: BenchRun, path: Path) -> None:
    # A bare Figure draws to files without pyplot's global state or a display.
    figure = Figure(figsize=(11, 4.8))
    cpu, ttfb = figure.subplots(1, 2)
    _cpu_panel(cpu, run)
    _ttfb_panel(ttfb, run)
    figure.suptitle(f"chatgate {run.chatgate_version} ({run.commit}), {run.machine.cpus} CPUs")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
