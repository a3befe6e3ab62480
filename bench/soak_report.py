"""``python -m bench.soak_report [RESULTS]``: the soak's findings as tables, for
the terminal or for docs/performance.md, whose soak section it rewrites from
saved results (by default the newest full soak in bench/results/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.report import DOC, replace_section
from bench.soak_mix import FAIL_AFTER_CHUNKS
from bench.soak_results import (
    CHECKPOINT_FRACTIONS,
    SoakRun,
    Verdict,
    active_verdict,
    errors_verdict,
    fd_verdict,
    latest_full_soak_path,
    load_cost_verdict,
    load_soak,
    rss_verdict,
)
from bench.tables import Rows, render_markdown, render_text

HEADERS = ["measure", "figure", "verdict"]
LOG_HEADERS = ["level", "logger", "message", "lines"]
ACCESS_HEADERS = ["access log line", "lines"]


def describe(run: SoakRun) -> str:
    return (
        f"{run.concurrency:,} concurrent streams for {_minutes(run.minutes)}, each answer"
        f" {run.chunks} chunks {run.delay_ms} ms apart; 5% of requests ask the upstream to"
        f" fail (500 or 429 before the answer, or the connection dropped after"
        f" {FAIL_AFTER_CHUNKS} chunks) and 5% are abandoned by the client at the first byte"
    )


def _minutes(minutes: float) -> str:
    return f"{minutes:g} min" if minutes >= 1 else f"{minutes * 60:g} s"


def _counts(counts: dict[str, int]) -> str:
    return "; ".join(f"{what}: {count:,}" for what, count in counts.items()) or "none"


def _verdict(verdict: Verdict) -> str:
    return f"{'ok' if verdict.ok else 'NOT OK'}: {verdict.text}"


def soak_rows(run: SoakRun) -> Rows:
    at = " / ".join(_minutes(run.minutes * f) for f in CHECKPOINT_FRACTIONS)
    rss = " / ".join(f"{c.rss_mb:.0f}" for c in run.checkpoints)
    ttfb = "-" if run.ttfb is None else f"{run.ttfb.p50_ms:,.0f} / {run.ttfb.p99_ms:,.0f} ms"
    return [
        [
            "requests completed",
            f"{run.completed:,} ({run.completed / run.wall_s:,.0f}/s);"
            f" {run.complete_answers:,} complete clean answers",
            "",
        ],
        ["expected errors (injected)", _counts(run.expected_errors), ""],
        ["unexpected errors", _counts(run.unexpected_errors), _verdict(errors_verdict(run))],
        ["time to first byte p50 / p99", ttfb, ""],
        [
            f"chatgate RSS at {at}",
            f"{rss} MB (idle before: {run.baseline.rss_mb:.0f}, peak: {run.peak_rss_mb:.0f})",
            _verdict(rss_verdict(run.checkpoints)),
        ],
        [
            "open fds, baseline / end",
            f"{run.baseline.fds} / {run.end.fds} ({run.drain_s:.0f} s after the load;"
            f" {max(c.fds for c in run.checkpoints):,} under load)",
            _verdict(fd_verdict(run.baseline, run.end)),
        ],
        [
            "chatgate_active_answers at the end",
            f"{run.end.active_answers:.0f}",
            _verdict(active_verdict(run.end)),
        ],
        [
            "CPU-s: chatgate / upstream / load gen",
            f"{run.server_cpu_s:,.0f} / {run.upstream_cpu_s:,.0f} / {run.load_cpu_s:,.0f}",
            _verdict(load_cost_verdict(run)),
        ],
    ]


def log_rows(run: SoakRun) -> Rows:
    return [[e.level, e.logger, e.message, f"{e.count:,}"] for e in run.log_events]


def access_rows(run: SoakRun) -> Rows:
    return [[line, f"{count:,}"] for line, count in run.access.items()]


def render_soak(run: SoakRun) -> str:
    """The findings for the terminal, with an example of each warning and error."""
    parts = [
        describe(run),
        render_text(HEADERS, soak_rows(run)),
        "chatgate's log:\n" + render_text(LOG_HEADERS, log_rows(run)),
        render_text(ACCESS_HEADERS, access_rows(run)),
    ]
    examples = [f"  {e.example}" for e in run.log_events if e.level not in ("info", "debug")]
    if examples:
        parts.append("first line of each warning and error:\n" + "\n".join(examples))
    return "\n\n".join(parts)


def _escaped(rows: Rows) -> Rows:
    return [[cell.replace("|", "\\|") for cell in row] for row in rows]


def soak_section(run: SoakRun) -> str:
    m = run.machine
    return "\n\n".join(
        [
            f"{describe(run)}. Run of {run.started} on {m.cpus} CPUs ({m.cpu_model}), chatgate"
            f" {run.chatgate_version} at `{run.commit}`.",
            render_markdown(HEADERS, _escaped(soak_rows(run))),
            "chatgate's own log lines during the run, by kind (digits shown as #):",
            render_markdown(LOG_HEADERS, _escaped(log_rows(run))),
            render_markdown(ACCESS_HEADERS, _escaped(access_rows(run))),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_report", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, help="a bench/results/soak-*.json file")
    args = parser.parse_args()
    path: Path | None = args.results or latest_full_soak_path()
    if path is None:
        raise SystemExit("no full soak in bench/results/: run `make soak` first")
    run = load_soak(path)
    DOC.write_text(replace_section(DOC.read_text(), "soak", soak_section(run)))
    print(f"updated {DOC} from {path}")


if __name__ == "__main__":
    main()
