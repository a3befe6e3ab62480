"""chatgate's goals against Chatbot UI's original route stack on Node: judged
against the Node reference measured in the same run (bench/node_reference/), or,
when Node could not run there, against quoted figures from this kind of machine."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import BenchRun

# Quoted, not measured by this benchmark: used only when the Node reference was skipped.
QUOTED_NODE_W1_CPU_PER_1K = 2.4  # CPU-s per 1,000 requests on W1
QUOTED_NODE_ADDED_TTFB_P50_MS = 1.6  # time to first byte added to the upstream's, p50
W1_CPU_FACTOR = 0.25  # of Node's CPU on W1
SLOW_STREAM_CPU_FACTOR = 0.4  # of Node's CPU on W3
ADDED_TTFB_GOAL_MS = 0.5
SLOW_STREAM_MEMORY_GOAL_MB = 100.0
QUOTED_NOTE = "quoted: Node not measured in this run"


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


@dataclass(frozen=True, slots=True)
class GoalCheck:
    goal: str
    reference: str  # the Node figure, or why there is none
    target: str
    measured: str
    met: bool | None  # None: cannot be judged from this run


def _yes_no(met: bool | None) -> str:
    return {True: "yes", False: "no", None: "n/a"}[met]


def _cpu_check(
    *, goal: str, ours: float, node: float | None, factor: float, reference: str
) -> GoalCheck:
    """chatgate's CPU per 1,000 requests against ``factor`` times Node's."""
    if node is None or node <= 0:
        return GoalCheck(
            goal=goal,
            reference=reference,
            target=f"<= {factor}x Node",
            measured=f"{ours:.2f}",
            met=None,
        )
    limit = factor * node
    return GoalCheck(
        goal=goal,
        reference=reference,
        target=f"<= {limit:.2f} ({factor}x Node)",
        measured=f"{ours:.2f} ({ours / node:.2f}x Node)",
        met=ours <= limit,
    )


def goal_checks(run: BenchRun) -> list[GoalCheck]:
    checks: list[GoalCheck] = []
    node = node_figures(run)
    w1, w3, w4 = run.workload("W1"), run.workload("W3"), run.workload("W4")
    if w1 is not None:
        checks.append(
            _cpu_check(
                goal="W1 CPU-s per 1,000 requests",
                ours=w1.chatgate.cpu_per_1k_requests,
                node=node.w1_cpu_per_1k,
                factor=W1_CPU_FACTOR,
                reference=node.show(node.w1_cpu_per_1k, 2),
            )
        )
    if w3 is not None:
        checks.append(
            _cpu_check(
                goal="W3 CPU-s per 1,000 requests (slow streams)",
                ours=w3.chatgate.cpu_per_1k_requests,
                node=node.w3_cpu_per_1k,
                factor=SLOW_STREAM_CPU_FACTOR,
                reference=node.show(node.w3_cpu_per_1k, 2),
            )
        )
    if w4 is not None and w4.added_ttfb_p50_ms is not None:
        added = w4.added_ttfb_p50_ms
        checks.append(
            GoalCheck(
                goal="W4 added time to first byte, p50 (ms)",
                reference=node.show(node.added_ttfb_p50_ms, 2),
                target=f"< {ADDED_TTFB_GOAL_MS}",
                measured=f"{added:.2f}",
                met=added < ADDED_TTFB_GOAL_MS,
            )
        )
    if w3 is not None:
        errors, memory = w3.chatgate.error_count, w3.chatgate.peak_rss_mb
        theirs = w3.node
        checks.append(
            GoalCheck(
                goal=f"W3 {w3.workload.concurrency:,} concurrent slow streams: errors",
                reference="-" if theirs is None else str(theirs.error_count),
                target="0",
                measured=str(errors),
                met=errors == 0,
            )
        )
        checks.append(
            GoalCheck(
                goal="W3 peak memory (MB)",
                reference="-" if theirs is None else f"{theirs.peak_rss_mb:.0f}",
                target=f"< {SLOW_STREAM_MEMORY_GOAL_MB:.0f}",
                measured=f"{memory:.0f}",
                met=memory < SLOW_STREAM_MEMORY_GOAL_MB,
            )
        )
    return checks


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


def goal_rows(run: BenchRun) -> tuple[list[str], list[list[str]]]:
    node = "Node (this run)" if run.node_measured else "Node (quoted)"
    headers = ["goal", node, "goal for chatgate", "chatgate (measured)", "met"]
    rows = [[c.goal, c.reference, c.target, c.measured, _yes_no(c.met)] for c in goal_checks(run)]
    return headers, rows
