"""The page's run and the one before it: kept beside docs/performance.md so that
the page shows a run beside the one it replaced, whichever order things happen in."""

from pathlib import Path

from bench.baseline import SHOWN, comparison_headers, comparison_rows, rotate
from bench.report import results_section
from bench.results import BenchRun, load_run
from tests.bench_runs import bench_run, full_run


def run_of(day: str, *, quick: bool = False) -> BenchRun:
    return full_run().model_copy(
        update={"started": f"2026-12-{day}T10:00:00+00:00", "quick": quick}
    )


def test_a_new_run_replaces_the_shown_one_which_becomes_the_baseline(tmp_path: Path) -> None:
    shown, baseline = tmp_path / "run.json", tmp_path / "baseline.json"
    assert rotate(run_of("01"), shown=shown, baseline=baseline) is None
    before = rotate(run_of("02"), shown=shown, baseline=baseline)
    assert before is not None
    assert before.started.startswith("2026-12-01")
    assert load_run(shown).started.startswith("2026-12-02")


def test_rendering_the_same_run_again_keeps_its_baseline(tmp_path: Path) -> None:
    shown, baseline = tmp_path / "run.json", tmp_path / "baseline.json"
    rotate(run_of("01"), shown=shown, baseline=baseline)
    rotate(run_of("02"), shown=shown, baseline=baseline)
    again = rotate(run_of("02"), shown=shown, baseline=baseline)
    assert again is not None
    assert again.started.startswith("2026-12-01")


def test_a_quick_run_shown_by_mistake_never_becomes_the_baseline(tmp_path: Path) -> None:
    shown, baseline = tmp_path / "run.json", tmp_path / "baseline.json"
    rotate(run_of("01"), shown=shown, baseline=baseline)
    rotate(run_of("02"), shown=shown, baseline=baseline)
    rotate(run_of("03", quick=True), shown=shown, baseline=baseline)
    before = rotate(run_of("04"), shown=shown, baseline=baseline)
    assert before is not None
    assert before.started.startswith("2026-12-02")


def test_before_and_after_with_the_change() -> None:
    before = bench_run(node=False)
    after = full_run()
    rows = {row[0]: row[1:] for row in comparison_rows(before, after)}
    assert rows["W1 CPU-s / 1k req"] == ["0.500", "0.500", "0%"]
    assert rows["memory per open stream KB"] == ["-", "30.0", "-"]
    assert rows["idle RSS MB"] == ["80", "80", "0%"]
    slower = after.model_copy(update={"chatgate_idle_rss_mb": 100})
    assert {r[0]: r[3] for r in comparison_rows(before, slower)}["idle RSS MB"] == "+25%"
    headers = comparison_headers(before, after)
    assert headers[1] == "before (2026-01-01, `abc`)"


def test_the_run_the_page_shows_loads_and_renders_beside_a_new_one() -> None:
    shown = load_run(SHOWN)
    assert not shown.quick
    section = results_section(full_run(), shown)
    assert f"chatgate at `{shown.commit}`" in section
    assert "| W1 CPU-s / 1k req |" in section
