"""``python -m bench.report [RESULTS] [--profile PROFILE] [--baseline RUN]``: rewrite the
generated parts of docs/performance.md, and its chart, from saved results.

The document's prose is written by hand; everything between
``<!-- begin NAME -->`` and ``<!-- end NAME -->`` comes from the JSON files
(by default the newest full run and the newest profile in bench/results/).
The run shown is kept as docs/performance-run.json, and the one it replaces as
docs/performance-baseline.json: the page shows the two side by side.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bench.baseline import BASELINE, SHOWN, comparison_headers, comparison_rows, keep, rotate
from bench.chart import draw_chart
from bench.profile import Profile, Share
from bench.results import RESULTS_DIR, BenchRun, latest_full_run_path, load_run
from bench.sections import render_blocks_markdown, run_blocks
from bench.tables import render_markdown

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "performance.png"
PROFILE_ROWS = 10


def machine_section(run: BenchRun) -> str:
    m = run.machine
    kind = "quick smoke run" if run.quick else "full run"
    return "\n".join(
        [
            f"- {m.cpus} CPUs: {m.cpu_model}; Linux {m.kernel}; Python {m.python}",
            f"- load average when the run began: {m.load_average}",
            f"- chatgate {run.chatgate_version} at `{run.commit}`, {run.workers} worker(s);"
            f" {run.load_processes} load generator process(es)",
            f"- {kind} of {run.started}, {run.duration_s:.0f} s in all;"
            f" chatgate idle before the first request: {run.chatgate_idle_rss_mb:.0f} MB RSS",
        ]
    )


def results_section(run: BenchRun, before: BenchRun | None) -> str:
    parts = [
        render_blocks_markdown(run_blocks(run)),
        f"![CPU per 1,000 requests, time to first byte and memory]({CHART.name})",
    ]
    if before is not None:
        parts += [
            f"Against the run this page showed before ({before.started},"
            f" chatgate at `{before.commit}`, {before.machine.cpus} CPUs"
            + (f"; {before.note}" if before.note else "")
            + "; in the chart, the lighter bars):",
            render_markdown(comparison_headers(before, run), comparison_rows(before, run)),
        ]
    return "\n\n".join(parts)


def _share_table(title: str, shares: list[Share]) -> str:
    rows = [[f"{s.percent:.1f}%", s.name.replace("|", "\\|")] for s in shares]
    return render_markdown(["share", title], rows[:PROFILE_ROWS])


def profile_section(profile: Profile) -> str:
    return "\n\n".join(
        [
            f"{profile.samples:,} samples taken at {profile.started} while W1 ran"
            f" ({profile.cpu_per_1k_requests:.2f} CPU-s per 1,000 requests under the profiler).",
            _share_table("self time, by package (chatgate by module)", profile.packages),
            _share_table("self time, by function", profile.functions),
            _share_table("inside each step of the chat route (inclusive)", profile.steps),
            _share_table("chatgate's CPU time, by thread (from /proc)", profile.threads),
        ]
    )


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- begin {name} -->\n).*?(<!-- end {name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{DOC} has no generated section named {name!r}")
    return pattern.sub(lambda m: f"{m[1]}{body}\n{m[2]}", text)


def _newest_profile() -> Path | None:
    found = sorted(RESULTS_DIR.glob("profile-*.json"))
    return found[-1] if found else None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, help="a bench/results/*.json file")
    parser.add_argument("--profile", type=Path, help="a bench/results/profile-*.json file")
    parser.add_argument(
        "--baseline",
        type=Path,
        help=f"the run to show as before, kept as {BASELINE.relative_to(ROOT)}"
        f" [the run {SHOWN.relative_to(ROOT)} held until now]",
    )
    args = parser.parse_args()
    results_path: Path | None = args.results or latest_full_run_path()
    if results_path is None:
        raise SystemExit("no full run in bench/results/: run `make bench` first")
    run = load_run(results_path)
    before = rotate(run)
    if args.baseline is not None:
        before = load_run(args.baseline)
        keep(before, BASELINE)
    text = DOC.read_text()
    text = replace_section(text, "machine", machine_section(run))
    text = replace_section(text, "results", results_section(run, before))
    profile_path: Path | None = args.profile or _newest_profile()
    if profile_path is not None:
        profile = Profile.model_validate_json(profile_path.read_text())
        text = replace_section(text, "profile", profile_section(profile))
    DOC.write_text(text)
    draw_chart(run, CHART, before=before)
    used = results_path if profile_path is None else f"{results_path} and {profile_path}"
    print(f"updated {DOC} and {CHART} from {used}")


if __name__ == "__main__":
    main()
