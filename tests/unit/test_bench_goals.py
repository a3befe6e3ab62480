"""The goal table: one row per goal, each judged from figures of the same run; a
goal of several parts fails by the parts that failed, and a setup that could
not run here leaves its goal unjudged, saying why."""

from bench.goals import goal_checks, goal_rows
from bench.results import BenchRun
from tests.bench_runs import full_run, measurement


def verdicts(run: BenchRun) -> dict[str, str]:
    return {row[0].split(".")[0]: row[4] for row in goal_rows(run)[1]}


def row(run: BenchRun, number: str) -> list[str]:
    return next(r for r in goal_rows(run)[1] if r[0].startswith(f"{number}."))


def test_one_row_per_goal_each_judged() -> None:
    run = full_run()
    assert [r[0].split(".")[0] for r in goal_rows(run)[1]] == [str(n) for n in range(1, 8)]
    assert verdicts(run) == {
        "1": "yes",
        "2": "yes",
        "3": "yes",
        "4": "no",  # 30 KB a stream is not under 30 KB
        "5": "yes",
        "6": "no: W5",
        "7": "no: W3 TTFB p50",
    }


def test_the_added_first_byte_is_judged_at_p50_and_p99() -> None:
    goal, _node, target, measured, _met = row(full_run(), "2")
    assert "TTFB minus the floor's" in goal
    assert target == "p50: < 0.4 ms; p99: < 1.0 ms"
    assert measured == "p50: 0.30 ms; p99: 0.60 ms"


def test_slow_streams_first_byte_with_two_workers_against_the_floor() -> None:
    run = full_run()
    target, measured = row(run, "3")[2:4]
    assert "TTFB p50 (2 workers): <= 2.0 ms (<= 2x the floor's)" in target
    assert "TTFB p50 (2 workers): 1.9 ms (1.9x the floor's)" in measured
    slow = run.model_copy(
        update={"scaling_w3": measurement("chatgate 2 workers", cpu_s=0.5, ttfb_ms=2.1)}
    )
    assert verdicts(slow)["3"] == "no: TTFB p50 (2 workers)"


def test_errors_on_slow_streams_with_either_number_of_workers_fail_the_goal() -> None:
    run = full_run()
    failing = (
        run.scaling_w3.model_copy(update={"errors": {"timeout": 2}}) if run.scaling_w3 else None
    )
    assert verdicts(run.model_copy(update={"scaling_w3": failing}))["3"] == "no: errors"


def test_memory_per_stream_is_the_slope_with_its_fixed_part_shown() -> None:
    goal, _node, target, measured, met = row(full_run(), "4")
    assert goal == "4. Memory per open stream (peak RSS from 1,000 to 4,000 streams)"
    assert (target, measured, met) == ("< 30 KB", "30.0 KB (fixed part 80 MB; idle 100 MB)", "no")


def test_more_workers_may_cost_five_percent_more_cpu_per_request_not_more() -> None:
    run = full_run()
    assert row(run, "5")[3] == "W1: 1.04x (0.520 vs 0.500); W3: 1.04x (0.520 vs 0.500)"
    costly = run.model_copy(
        update={"scaling": measurement("chatgate 2 workers", cpu_s=0.53, ttfb_ms=1.2)}
    )
    assert verdicts(costly)["5"] == "no: W1"


def test_a_setup_that_could_not_run_leaves_its_goal_unjudged() -> None:
    run = full_run().model_copy(
        update={
            "cluster": None,
            "cluster_skipped": "nginx not found",
            "cookie_sign_in": None,
            "cookie_sign_in_skipped": "PostgreSQL at 127.0.0.1:5432 cannot be reached",
        }
    )
    assert verdicts(run)["7"] == "n/a"
    assert row(run, "7")[3] == "not measured: nginx not found"
    assert "Supabase cookie: not measured: PostgreSQL" in row(run, "6")[3]
    # W5's failure still shows: one unjudged part does not hide another's failure.
    assert verdicts(run)["6"] == "no: W5"


def test_two_instances_are_judged_by_the_goals_of_one_and_shown_against_it() -> None:
    measured = row(full_run(), "7")[3]
    assert "W1 CPU: 0.60 (0.15x Node; 1.20x one instance)" in measured
    assert "W3 CPU: 0.70 (0.17x Node; 1.40x one instance)" in measured


def test_a_run_from_before_these_goals_still_renders_its_goal_table() -> None:
    old = full_run().model_dump()
    for key in ("scaling_w3", "cookie_sign_in", "memory", "cluster", "chatgate_settings"):
        del old[key]
    run = BenchRun.model_validate(old)
    assert len(goal_checks(run)) == 7
    assert verdicts(run)["4"] == "n/a"
