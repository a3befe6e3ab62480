"""Reference figures for Chatbot UI's original Node route stack, measured on
this kind of machine (2 cores) but not by this benchmark, and chatgate's goals
against them."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import BenchRun

NODE_W1_CPU_PER_1K = 2.4  # CPU-s per 1,000 requests on W1
NODE_ADDED_TTFB_P50_MS = 1.6  # time to first byte added to the upstream's, p50
W1_CPU_GOAL = 0.25 * NODE_W1_CPU_PER_1K
SLOW_STREAM_CPU_FACTOR = 0.4  # of Node's CPU on W3, for which there is no reference figure
ADDED_TTFB_GOAL_MS = 0.5
SLOW_STREAM_MEMORY_GOAL_MB = 100.0


@dataclass(frozen=True, slots=True)
class GoalCheck:
    goal: str
    reference: str  # the Node figure, or why there is none
    target: str
    measured: str
    met: bool | None  # None: cannot be judged from this run


def _yes_no(met: bool | None) -> str:
    return {True: "yes", False: "no", None: "n/a"}[met]


def goal_checks(run: BenchRun) -> list[GoalCheck]:
    checks: list[GoalCheck] = []
    w1, w3, w4 = run.workload("W1"), run.workload("W3"), run.workload("W4")
    if w1 is not None:
        cpu = w1.chatgate.cpu_per_1k_requests
        checks.append(
            GoalCheck(
                goal="W1 CPU-s per 1,000 requests",
                reference=f"{NODE_W1_CPU_PER_1K:.1f}",
                target=f"<= {W1_CPU_GOAL:.2f} (0.25x Node)",
                measured=f"{cpu:.2f} ({cpu / NODE_W1_CPU_PER_1K:.2f}x Node)",
                met=cpu <= W1_CPU_GOAL,
            )
        )
    if w3 is not None:
        checks.append(
            GoalCheck(
                goal="W3 CPU-s per 1,000 requests (slow streams)",
                reference="no figure given",
                target=f"<= {SLOW_STREAM_CPU_FACTOR}x Node",
                measured=f"{w3.chatgate.cpu_per_1k_requests:.2f}",
                met=None,
            )
        )
    if w4 is not None and w4.added_ttfb_p50_ms is not None:
        added = w4.added_ttfb_p50_ms
        checks.append(
            GoalCheck(
                goal="W4 added time to first byte, p50 (ms)",
                reference=f"{NODE_ADDED_TTFB_P50_MS:.1f}",
                target=f"< {ADDED_TTFB_GOAL_MS}",
                measured=f"{added:.2f}",
                met=added < ADDED_TTFB_GOAL_MS,
            )
        )
    if w3 is not None:
        errors, memory = w3.chatgate.error_count, w3.chatgate.peak_rss_mb
        checks.append(
            GoalCheck(
                goal=f"W3 {w3.workload.concurrency:,} concurrent slow streams: errors",
                reference="-",
                target="0",
                measured=str(errors),
                met=errors == 0,
            )
        )
        checks.append(
            GoalCheck(
                goal="W3 peak memory of chatgate (MB)",
                reference="-",
                target=f"< {SLOW_STREAM_MEMORY_GOAL_MB:.0f}",
                measured=f"{memory:.0f}",
                met=memory < SLOW_STREAM_MEMORY_GOAL_MB,
            )
        )
    return checks


def goal_rows(run: BenchRun) -> tuple[list[str], list[list[str]]]:
    headers = ["goal", "Node (reference)", "goal for chatgate", "chatgate (measured)", "met"]
    rows = [[c.goal, c.reference, c.target, c.measured, _yes_no(c.met)] for c in goal_checks(run)]
    return headers, rows
