"""The Node reference in the results: the goals judged against its figures from the
same run (the quoted ones only when it did not run), and its rows in the tables."""

from pathlib import Path

import pytest

from bench.goals import goal_checks, goal_rows
from bench.node_route import NodeUnavailable, install, install_dir, node_env
from bench.reference import QUOTED_NOTE, goal_heading
from bench.results import BenchRun
from bench.tables import RESULT_HEADERS, result_rows, workload_lines
from tests.bench_runs import bench_run, measurement


def checks_by_goal(run: BenchRun) -> dict[str, tuple[str, str, str, str]]:
    """Each goal's row by its number: (Node, target, measured, met)."""
    rows = [check.row() for check in goal_checks(run)]
    return {row[0].split(".")[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def test_goals_are_judged_against_node_measured_in_the_same_run() -> None:
    checks = checks_by_goal(bench_run(node=True))
    assert checks["1"] == ("4.00", "<= 0.88 (0.22x Node)", "0.50 (0.12x Node)", "yes")
    node, _target, measured, _met = checks["3"]
    assert node == "4.00 CPU-s / 1k"
    assert "CPU (1 worker): 0.50 (0.12x Node)" in measured
    assert checks["2"][0] == "2.00 ms (p50)"


def test_a_measured_node_figure_can_fail_a_goal() -> None:
    run = bench_run(node=True)
    w1 = run.workloads[0]
    assert w1.node is not None
    cheap_node = w1.node.model_copy(update={"server_cpu_s": 1.0})
    run.workloads[0] = w1.model_copy(update={"node": cheap_node})
    assert checks_by_goal(run)["1"] == (
        "1.00",
        "<= 0.22 (0.22x Node)",
        "0.50 (0.50x Node)",
        "no",
    )


def test_without_node_the_quoted_figures_are_used_and_said_to_be_quoted() -> None:
    run = bench_run(node=False)
    checks = checks_by_goal(run)
    reference, target, _measured, met = checks["1"]
    assert reference == f"2.40 ({QUOTED_NOTE})"
    assert (target, met) == ("<= 0.53 (0.22x Node)", "yes")
    # There is no quoted figure for W3: its CPU part cannot be judged.
    assert "CPU (1 worker): <= 0.35x Node" in checks["3"][1]
    assert checks["2"][0] == f"1.60 ({QUOTED_NOTE}) ms (p50)"
    headers, _rows = goal_rows(run)
    assert headers[1] == "Node (quoted)"
    assert "not measured in this run (node and npm not found on PATH)" in goal_heading(run)


def test_the_heading_names_the_node_measured() -> None:
    run = bench_run(node=True)
    assert goal_rows(run)[0][1] == "Node (this run)"
    assert "(Node v20.0.0), measured in this run" in goal_heading(run)


def test_result_rows_show_node_and_chatgate_against_it() -> None:
    rows = result_rows(bench_run(node=True))
    w1 = [row for row in rows if row[0] == "W1"]
    assert [row[1] for row in w1] == [
        "floor",
        "chatgate",
        "node",
        "chatgate / floor",
        "chatgate / node",
    ]
    node, versus_node = w1[2], w1[4]
    cpu = RESULT_HEADERS.index("CPU-s / 1k req (range)")
    ttfb = RESULT_HEADERS.index("TTFB p50 / p99 ms")
    assert node[cpu] == "4.000"
    assert versus_node[cpu] == "0.12x"
    assert versus_node[ttfb] == "0.43x (p50)"


def test_result_rows_without_node_are_the_floor_and_chatgate() -> None:
    rows = result_rows(bench_run(node=False))
    assert [row[1] for row in rows if row[0] == "W1"] == ["floor", "chatgate", "chatgate / floor"]


def test_a_run_saved_before_node_was_measured_still_loads() -> None:
    saved = bench_run(node=False).model_dump()
    del saved["node_version"], saved["node_skipped"]
    for result in saved["workloads"]:
        del result["node"]
    run = BenchRun.model_validate(saved)
    assert not run.node_measured
    assert goal_rows(run)[0][1] == "Node (quoted)"


def test_the_package_cache_is_keyed_by_the_lock_file(tmp_path: Path) -> None:
    first = install_dir(tmp_path, b'{"lockfileVersion": 3}')
    assert first == install_dir(tmp_path, b'{"lockfileVersion": 3}')
    assert first != install_dir(tmp_path, b'{"lockfileVersion": 3, "x": 1}')
    assert first.parent == tmp_path


def test_node_env_carries_the_profile_and_the_address() -> None:
    env = node_env(
        base={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
        host="127.0.0.1",
        port=8123,
        token="t",
        api_key="sk-x",
    )
    assert env == {
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "HOST": "127.0.0.1",
        "PORT": "8123",
        "CHAT_TOKEN": "t",
        "CHAT_OPENAI_API_KEY": "sk-x",
    }


async def test_without_node_on_path_the_reference_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NodeUnavailable, match="node and npm not found on PATH"):
        await install(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def _executable(path: Path, script: str) -> None:
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


async def test_a_failed_install_says_why_in_one_line_and_leaves_no_cache_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, cache = tmp_path / "bin", tmp_path / "cache"
    bin_dir.mkdir()
    _executable(bin_dir / "node", "echo v20.0.0")
    _executable(
        bin_dir / "npm", "echo 'npm error code ENOTFOUND'; echo 'npm error network'; exit 1"
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(NodeUnavailable) as failed:
        await install(cache)
    assert str(failed.value) == "npm ci failed: npm error network"
    assert list(cache.iterdir()) == []  # the staging folder is gone, and nothing else is there


def test_w5_is_named_among_the_workloads_when_it_ran() -> None:
    run = bench_run(node=False).model_copy(
        update={"openai_api": measurement("chatgate /v1", cpu_s=0.55, ttfb_ms=1.3)}
    )
    assert workload_lines(run)[-1].startswith("W5 W1's load through /v1/chat/completions")
    assert not workload_lines(bench_run(node=False))[-1].startswith("W5")
