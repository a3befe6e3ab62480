import os

from bench.load_runner import merge_results, split_plan
from bench.loadgen import LoadPlan, LoadResult
from bench.measurement import Latency, median_run, percentile
from bench.procfs import cpu_seconds, open_fds, process_tree, rss_bytes
from tests.bench_runs import measurement

PLAN = LoadPlan(
    host="127.0.0.1",
    port=9,
    path="/",
    headers={"Authorization": "Bearer t"},
    body="{}",
    mode="text",
    requests=1001,
    concurrency=3,
    expected_answer_bytes=1,
    request_timeout_s=1,
    time_limit_s=1,
)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7


def test_latency_in_milliseconds_and_none_when_nothing_was_answered() -> None:
    assert Latency.of([0.001, 0.002]) == Latency(p50_ms=1.0, p99_ms=2.0)
    assert Latency.of([]) is None


def test_split_plan_shares_out_every_request_and_connection() -> None:
    parts = split_plan(PLAN, 2)
    assert [p.requests for p in parts] == [501, 500]
    assert [p.concurrency for p in parts] == [2, 1]


def test_merge_results_spans_all_processes() -> None:
    first = LoadResult(
        started=1, finished=3, ttfb_s=[0.1], total_s=[0.2], errors={"timeout": 1}, cpu_s=0.5
    )
    second = LoadResult(
        started=2, finished=4, ttfb_s=[0.3], total_s=[0.4], errors={"timeout": 2}, cpu_s=0.25
    )
    merged = merge_results([first, second])
    assert (merged.started, merged.finished) == (1, 4)
    assert merged.total_s == [0.2, 0.4]
    assert merged.errors == {"timeout": 3}
    assert merged.cpu_s == 0.75


def test_process_tree_figures_for_this_process() -> None:
    me = os.getpid()
    assert process_tree(me)[0] == me
    assert cpu_seconds([me]) > 0
    assert rss_bytes([me]) > 1_000_000
    assert open_fds([me]) >= 3  # standard input, output and error at least
    assert cpu_seconds([2**22 + 1]) == 0  # beyond pid_max: no such process


def test_median_run_keeps_every_repetition_cpu_and_all_errors() -> None:
    runs = [
        measurement("chatgate", cpu_s=3.0, ttfb_ms=1),
        measurement("chatgate", cpu_s=1.0, ttfb_ms=1).model_copy(update={"errors": {"timeout": 1}}),
        measurement("chatgate", cpu_s=2.0, ttfb_ms=1),
    ]
    median = median_run(runs)
    assert median.server_cpu_s == 2.0
    assert median.cpu_per_1k_runs == [3.0, 1.0, 2.0]
    assert median.errors == {"timeout": 1}
