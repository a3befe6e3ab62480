"""chatgate's goals, and the Node figures they are judged against: Chatbot UI's
original route stack on Node measured in the same run (bench/node_reference/),
or, when Node could not run there, figures quoted from this kind of machine."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import BenchRun

# Quoted, not measured by this benchmark: used only when the Node reference was skipped.
QUOTED_NODE_W1_CPU_PER_1K = 2.4  # CPU-s per 1,000 requests on W1
QUOTED_NODE_ADDED_TTFB_P50_MS = 1.6  # time to first byte added to the upstream's, p50
QUOTED_NOTE = "quoted: Node not measured in this run"

# The goals (docs/performance.md), every ratio taken within one run.
W1_CPU_FACTOR = 0.22  # of Node's CPU per request on W1, every feature on
ADDED_TTFB_P50_GOAL_MS = 0.4  # W4: chatgate's time to first byte minus the floor's
ADDED_TTFB_P99_GOAL_MS = 1.0
W3_TTFB_FLOOR_FACTOR = 2.0  # W3's first byte, p50, against the floor's, with more workers
SLOW_STREAM_CPU_FACTOR = 0.35  # of Node's CPU per request on W3
MEMORY_PER_STREAM_GOAL_KB = 30.0  # the slope of peak RSS by open streams
SAME_CPU_TOLERANCE = 0.05  # more workers, /v1 and the session cookie cost no more than this


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """The Node figures the goals are judged against; None where there is none."""

    measured: bool  # in this run, or else quoted
    w1_cpu_per_1k: float | None
    w3_cpu_per_1k: float | None
    added_ttfb_p50_ms: float | None  # on W4

    def show(self, value: float | None, digits: int) -> str:
        if value is None:
            return "no figure" if self.measured else f"no figure ({QUOTED_NOTE})"
        figure = f"{value:.{digits}f}"
        return figure if self.measured else f"{figure} ({QUOTED_NOTE})"


def node_figures(run: BenchRun) -> NodeFigures:
    """Node's figures from this run, or the quoted ones when it did not run."""
    if not run.node_measured:
        return NodeFigures(
            measured=False,
            w1_cpu_per_1k=QUOTED_NODE_W1_CPU_PER_1K,
            w3_cpu_per_1k=None,
            added_ttfb_p50_ms=QUOTED_NODE_ADDED_TTFB_P50_MS,
        )
    w1, w3, w4 = run.workload("W1"), run.workload("W3"), run.workload("W4")
    return NodeFigures(
        measured=True,
        w1_cpu_per_1k=None if w1 is None or w1.node is None else w1.node.cpu_per_1k_requests,
        w3_cpu_per_1k=None if w3 is None or w3.node is None else w3.node.cpu_per_1k_requests,
        added_ttfb_p50_ms=None if w4 is None else w4.node_added_ttfb_p50_ms,
    )


def goal_heading(run: BenchRun) -> str:
    """The line above the goal table: where its Node figures come from."""
    if run.node_measured:
        return (
            f"Against the Node route stack (Node {run.node_version}), measured in this run"
            " beside chatgate, on the same machine and the same workloads:"
        )
    why = f" ({run.node_skipped})" if run.node_skipped else ""
    return (
        "Against the Node route stack, by figures quoted from this kind of machine:"
        f" Node was not measured in this run{why}."
    )
