"""The goal table: one row per goal of docs/performance.md, each judged from
figures of the same run. A goal with several parts is met when every part is;
a part that this run could not measure is not judged (n/a)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.measurement import Measurement
from bench.reference import (
    ADDED_TTFB_P50_GOAL_MS,
    ADDED_TTFB_P99_GOAL_MS,
    MEMORY_PER_STREAM_GOAL_KB,
    SAME_CPU_TOLERANCE,
    SLOW_STREAM_CPU_FACTOR,
    W1_CPU_FACTOR,
    W3_TTFB_FLOOR_FACTOR,
    NodeFigures,
    node_figures,
)
from bench.results import BenchRun, WorkloadResult

HEADERS_AFTER_NODE = ["goal for chatgate", "chatgate (measured)", "met"]


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    target: str
    measured: str
    met: bool | None  # None: cannot be judged from this run


@dataclass(frozen=True, slots=True)
class GoalCheck:
    goal: str
    reference: str  # the Node figure it is judged against, or "-"
    parts: tuple[Part, ...]

    @property
    def met(self) -> bool | None:
        verdicts = [part.met for part in self.parts]
        if False in verdicts:
            return False
        return None if None in verdicts or not verdicts else True

    def verdict(self) -> str:
        if self.met is False and len(self.parts) > 1:
            return "no: " + ", ".join(p.name for p in self.parts if p.met is False)
        return {True: "yes", False: "no", None: "n/a"}[self.met]

    def row(self) -> list[str]:
        def joined(pick: Callable[[Part], str]) -> str:
            if len(self.parts) == 1:
                return pick(self.parts[0])
            return "; ".join(f"{part.name}: {pick(part)}" for part in self.parts)

        return [
            self.goal,
            self.reference,
            joined(lambda p: p.target),
            joined(lambda p: p.measured),
            self.verdict(),
        ]


def not_measured(name: str, target: str, why: str) -> Part:
    return Part(name=name, target=target, measured=f"not measured: {why}", met=None)


def against_node(
    name: str, ours: Measurement | None, node: float | None, *, factor: float, note: str = ""
) -> Part:
    """CPU per 1,000 requests against ``factor`` times Node's."""
    if ours is None:
        return not_measured(name, f"<= {factor}x Node", "no run")
    cpu = ours.cpu_per_1k_requests
    if node is None or node <= 0:
        return Part(name=name, target=f"<= {factor}x Node", measured=f"{cpu:.2f}{note}", met=None)
    limit = factor * node
    return Part(
        name=name,
        target=f"<= {limit:.2f} ({factor}x Node)",
        measured=f"{cpu:.2f} ({cpu / node:.2f}x Node{note})",
        met=cpu <= limit,
    )


def cpu_ratio(name: str, ours: Measurement | None, base: Measurement, *, base_name: str) -> Part:
    """CPU per request of ``ours`` against ``base``'s, allowed SAME_CPU_TOLERANCE more."""
    limit = 1 + SAME_CPU_TOLERANCE
    target = f"<= {limit:.2f}x {base_name}"
    if ours is None:
        return not_measured(name, target, "no run")
    ratio = ours.cpu_per_1k_requests / max(base.cpu_per_1k_requests, 1e-9)
    measured = f"{ratio:.2f}x ({ours.cpu_per_1k_requests:.3f} vs {base.cpu_per_1k_requests:.3f})"
    return Part(name=name, target=target, measured=measured, met=ratio <= limit)


def ttfb_against_floor(name: str, ours: Measurement | None, w3: WorkloadResult) -> Part:
    target = f"<= {W3_TTFB_FLOOR_FACTOR:g}x the floor's"
    if ours is None or ours.ttfb is None or w3.floor.ttfb is None:
        return not_measured(name, target, "no run")
    mine, floor = ours.ttfb.p50_ms, w3.floor.ttfb.p50_ms
    return Part(
        name=name,
        target=f"<= {W3_TTFB_FLOOR_FACTOR * floor:.1f} ms ({target})",
        measured=f"{mine:.1f} ms ({mine / floor:.1f}x the floor's)",
        met=mine <= W3_TTFB_FLOOR_FACTOR * floor,
    )


def no_errors(name: str, runs: list[Measurement | None]) -> Part:
    measured = [run for run in runs if run is not None]
    errors = sum(run.error_count for run in measured)
    return Part(name=name, target="0", measured=str(errors), met=errors == 0 if measured else None)


def w1_goal(run: BenchRun, node: NodeFigures) -> GoalCheck:
    w1 = run.workload("W1")
    return GoalCheck(
        goal="1. W1 CPU-s per 1,000 requests, every feature on",
        reference=node.show(node.w1_cpu_per_1k, 2),
        parts=(
            against_node(
                "W1", None if w1 is None else w1.chatgate, node.w1_cpu_per_1k, factor=W1_CPU_FACTOR
            ),
        ),
    )


def added_ttfb_part(name: str, w4: WorkloadResult | None, *, p99: bool, goal: float) -> Part:
    added = None if w4 is None else w4.added_ttfb_ms(w4.chatgate, p99=p99)
    if added is None:
        return not_measured(name, f"< {goal} ms", "no run")
    return Part(name=name, target=f"< {goal} ms", measured=f"{added:.2f} ms", met=added < goal)


def w4_goal(run: BenchRun, node: NodeFigures) -> GoalCheck:
    w4 = run.workload("W4")
    return GoalCheck(
        goal="2. W4 time added to the first byte (chatgate's TTFB minus the floor's)",
        reference=node.show(node.added_ttfb_p50_ms, 2) + " ms (p50)",
        parts=(
            added_ttfb_part("p50", w4, p99=False, goal=ADDED_TTFB_P50_GOAL_MS),
            added_ttfb_part("p99", w4, p99=True, goal=ADDED_TTFB_P99_GOAL_MS),
        ),
    )


def w3_goal(run: BenchRun, node: NodeFigures) -> GoalCheck:
    w3 = run.workload("W3")
    streams = f"{w3.workload.concurrency:,}" if w3 else "many"
    workers = run.scaling_workers
    if w3 is None:
        parts: tuple[Part, ...] = (not_measured("W3", "-", "no run"),)
    else:
        parts = (
            ttfb_against_floor(f"TTFB p50 ({workers} workers)", run.scaling_w3, w3),
            against_node(
                "CPU (1 worker)", w3.chatgate, node.w3_cpu_per_1k, factor=SLOW_STREAM_CPU_FACTOR
            ),
            no_errors("errors", [w3.chatgate, run.scaling_w3]),
        )
    return GoalCheck(
        goal=f"3. W3, {streams} concurrent slow streams",
        reference=node.show(node.w3_cpu_per_1k, 2) + " CPU-s / 1k",
        parts=parts,
    )


def memory_goal(run: BenchRun) -> GoalCheck:
    target = f"< {MEMORY_PER_STREAM_GOAL_KB:g} KB"
    memory = run.memory
    if memory is None:
        part = not_measured("per stream", target, "no run")
        goal = "4. Memory per open stream"
    else:
        low, high = memory.points[0].streams, memory.points[-1].streams
        goal = f"4. Memory per open stream (peak RSS from {low:,} to {high:,} streams)"
        slope = memory.kb_per_stream
        part = Part(
            name="per stream",
            target=target,
            measured=(
                f"{slope:.1f} KB (fixed part {memory.fixed_mb:.0f} MB;"
                f" idle {memory.idle_rss_mb:.0f} MB)"
            ),
            met=slope < MEMORY_PER_STREAM_GOAL_KB,
        )
    return GoalCheck(goal=goal, reference="-", parts=(part,))


def workers_goal(run: BenchRun) -> GoalCheck:
    w1, w3, workers = run.workload("W1"), run.workload("W3"), run.scaling_workers
    base = f"{run.workers} worker" + ("s" if run.workers > 1 else "")
    parts = []
    for name, result, scaled in (("W1", w1, run.scaling), ("W3", w3, run.scaling_w3)):
        if result is None:
            parts.append(not_measured(name, "-", "no run"))
        else:
            parts.append(cpu_ratio(name, scaled, result.chatgate, base_name=base))
    return GoalCheck(
        goal=f"5. `--workers {workers}`: CPU per request against {base}",
        reference="-",
        parts=tuple(parts),
    )


def ways_in_goal(run: BenchRun) -> GoalCheck:
    w1 = run.workload("W1")
    if w1 is None:
        parts: tuple[Part, ...] = (not_measured("W1", "-", "no run"),)
    else:
        cookie = cpu_ratio("Supabase cookie", run.cookie_sign_in, w1.chatgate, base_name="W1")
        if run.cookie_sign_in is None and run.cookie_sign_in_skipped:
            cookie = not_measured(cookie.name, cookie.target, run.cookie_sign_in_skipped)
        parts = (cpu_ratio("W5", run.openai_api, w1.chatgate, base_name="W1"), cookie)
    return GoalCheck(
        goal="6. W1's load through /v1 (W5) and signed in by Supabase's cookie: CPU per request",
        reference="-",
        parts=parts,
    )


def cluster_goal(run: BenchRun, node: NodeFigures) -> GoalCheck:
    goal = "7. Two instances behind nginx, sharing PostgreSQL and Redis"
    shared, w1, w3 = run.cluster, run.workload("W1"), run.workload("W3")
    if shared is None or w1 is None or w3 is None:
        why = run.cluster_skipped or "no run"
        return GoalCheck(goal=goal, reference="-", parts=(not_measured("all", "-", why),))

    def alone(ours: Measurement | None, one: Measurement) -> str:
        if ours is None:
            return ""
        ratio = ours.cpu_per_1k_requests / max(one.cpu_per_1k_requests, 1e-9)
        return f"; {ratio:.2f}x one instance"

    return GoalCheck(
        goal=goal,
        reference=node.show(node.w1_cpu_per_1k, 2) + " / " + node.show(node.w3_cpu_per_1k, 2),
        parts=(
            against_node(
                "W1 CPU",
                shared.w1,
                node.w1_cpu_per_1k,
                factor=W1_CPU_FACTOR,
                note=alone(shared.w1, w1.chatgate),
            ),
            against_node(
                "W3 CPU",
                shared.w3,
                node.w3_cpu_per_1k,
                factor=SLOW_STREAM_CPU_FACTOR,
                note=alone(shared.w3, w3.chatgate),
            ),
            ttfb_against_floor("W3 TTFB p50", shared.w3, w3),
            no_errors("errors", [shared.w1, shared.w3]),
        ),
    )


def goal_checks(run: BenchRun) -> list[GoalCheck]:
    node = node_figures(run)
    return [
        w1_goal(run, node),
        w4_goal(run, node),
        w3_goal(run, node),
        memory_goal(run),
        workers_goal(run),
        ways_in_goal(run),
        cluster_goal(run, node),
    ]


def goal_rows(run: BenchRun) -> tuple[list[str], list[list[str]]]:
    node = "Node (this run)" if run.node_measured else "Node (quoted)"
    rows = [check.row() for check in goal_checks(run)]
    return ["goal", node, *HEADERS_AFTER_NODE], rows
