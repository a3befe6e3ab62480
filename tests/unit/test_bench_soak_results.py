import pytest

from bench.results import Machine
from bench.soak_mix import Fault
from bench.soak_report import render_soak, soak_section
from bench.soak_results import (
    FD_TOLERANCE,
    Snapshot,
    SoakRun,
    active_verdict,
    errors_verdict,
    fd_verdict,
    load_cost_verdict,
    rss_verdict,
)

MACHINE = Machine(cpus=2, cpu_model="cpu", python="3.11", kernel="6", load_average="0 0 0")


def snapshot(rss_mb: float = 100, fds: int = 30, active: float = 0) -> Snapshot:
    return Snapshot(at_s=0, rss_mb=rss_mb, fds=fds, active_answers=active)


def soak_run(outcomes: dict[str, dict[str, int]], *, load_cpu_s: float = 5) -> SoakRun:
    return SoakRun(
        started="2026-01-01T00:00:00+00:00",
        kind="full",
        concurrency=500,
        minutes=5,
        chunks=20,
        delay_ms=100,
        chatgate_version="0.1.0",
        commit="abc",
        machine=MACHINE,
        wall_s=300,
        outcomes=outcomes,
        ttfb=None,
        baseline=snapshot(),
        checkpoints=[snapshot(120), snapshot(125), snapshot(126)],
        end=snapshot(),
        drain_s=20,
        peak_rss_mb=130,
        server_cpu_s=100,
        upstream_cpu_s=30,
        load_cpu_s=load_cpu_s,
        log_events=[],
        access={"POST /api/chat/openai 200": 900},
    )


OUTCOMES = {
    Fault.NONE.value: {"complete answer": 900, "cut off mid-answer": 2, "status 502": 1},
    Fault.STATUS_500.value: {"status 500": 10},
    Fault.STATUS_429.value: {"status 429": 9, "complete answer": 1},
    Fault.DROPPED.value: {"cut off mid-answer": 10},
    Fault.ABANDONED.value: {"abandoned": 30},
}


def test_expected_faults_are_counted_apart_from_unexpected_errors() -> None:
    run = soak_run(OUTCOMES)
    assert run.completed == 963
    assert run.complete_answers == 900
    assert run.expected_errors == {
        "abandoned": 30,
        "status 500": 10,
        "cut off mid-answer": 10,
        "status 429": 9,
    }
    assert run.unexpected_errors == {
        "clean: cut off mid-answer": 2,
        "clean: status 502": 1,
        "upstream 429: complete answer": 1,
    }
    assert not errors_verdict(run).ok
    assert errors_verdict(soak_run({Fault.NONE.value: {"complete answer": 5}})).ok


@pytest.mark.parametrize(
    ("rss", "ok"),
    [
        ((100, 140, 140), True),  # grew while warming up, then levelled off
        ((100, 100, 104), True),  # within 5 MB
        ((400, 400, 419), True),  # within 5% of a larger figure
        ((100, 110, 120), False),
        ((400, 400, 421), False),
    ],
)
def test_rss_verdict_judges_the_last_part_of_the_run(rss: tuple[int, int, int], ok: bool) -> None:
    verdict = rss_verdict([snapshot(r) for r in rss])
    assert verdict.ok is ok
    assert ("levels off" if ok else "keeps growing") in verdict.text


def test_fds_must_come_back_to_baseline_within_the_tolerance() -> None:
    assert fd_verdict(snapshot(fds=30), snapshot(fds=30 + FD_TOLERANCE)).ok
    assert fd_verdict(snapshot(fds=30), snapshot(fds=20)).ok
    late = fd_verdict(snapshot(fds=30), snapshot(fds=31 + FD_TOLERANCE))
    assert not late.ok
    assert f"{FD_TOLERANCE + 1} more" in late.text


def test_no_answer_may_be_left_streaming() -> None:
    assert active_verdict(snapshot(active=0)).ok
    assert not active_verdict(snapshot(active=2)).ok


def test_load_generator_must_cost_less_than_chatgate() -> None:
    assert load_cost_verdict(soak_run(OUTCOMES, load_cpu_s=99)).ok
    assert not load_cost_verdict(soak_run(OUTCOMES, load_cpu_s=100)).ok


def test_report_shows_figures_and_verdicts() -> None:
    run = soak_run(OUTCOMES)
    text = render_soak(run)
    assert "120 / 125 / 126 MB" in text
    assert "at 1 min / 3 min / 5 min" in text
    assert "NOT OK: 4 unexpected" in text
    section = soak_section(run)
    assert section.startswith("500 concurrent streams for 5 min")
    assert "| open fds, baseline / end | 30 / 30 (20 s after the load; 30 under load) |" in section
