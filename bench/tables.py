"""The results as tables: rows of text, rendered aligned for a terminal or as
Markdown for the documentation."""

from __future__ import annotations

from collections.abc import Sequence

from bench.measurement import Latency, Measurement
from bench.results import BenchRun, WorkloadResult

Rows = list[list[str]]

RESULT_HEADERS = [
    "workload",
    "system",
    "req/s",
    "CPU-s / 1k req (range)",
    "CPU-s / 100k chunks",
    "upstream CPU-s / 1k req",
    "TTFB p50 / p99 ms",
    "total p50 / p99 ms",
    "peak RSS MB",
    "errors",
    "load gen CPU",
]

LEGEND = (
    "floor: the load generator straight to the fake upstream; its CPU is the upstream's.\n"
    "chatgate: through chatgate; CPU is chatgate's own, the upstream's shown apart.\n"
    "node: through Chatbot UI's original route on Node (openai 4, ai 2.2), measured\n"
    "as chatgate is, with the same requests; CPU is Node's own.\n"
    "Each figure is from the repetition with the median CPU; the range spans them all,\n"
    "and errors are counted over all repetitions."
)


def latency(figures: Latency | None) -> str:
    if figures is None:
        return "-"
    return f"{figures.p50_ms:.2f} / {figures.p99_ms:.2f}"


def _ratio(ours: float, floor: float) -> str:
    return f"{ours / floor:.2f}x" if floor > 0 else "-"


def cpu_with_range(m: Measurement) -> str:
    """CPU per 1,000 requests, with the range over repetitions when there were several."""
    figure = f"{m.cpu_per_1k_requests:.3f}"
    if len(m.cpu_per_1k_runs) > 1:
        figure += f" ({min(m.cpu_per_1k_runs):.2f}-{max(m.cpu_per_1k_runs):.2f})"
    return figure


def _measurement_row(name: str, m: Measurement) -> list[str]:
    upstream = "-" if m.upstream_cpu_s is None else f"{m.per_1k_requests(m.upstream_cpu_s):.3f}"
    return [
        name,
        m.system,
        f"{m.requests_per_s:,.0f}",
        cpu_with_range(m),
        f"{m.cpu_per_100k_chunks:.2f}",
        upstream,
        latency(m.ttfb),
        latency(m.total),
        f"{m.peak_rss_mb:.0f}",
        str(m.error_count),
        f"{m.load_cpu_share:.0%} of {m.load_processes}",
    ]


def _ratio_row(name: str, label: str, ours: Measurement, base: Measurement) -> list[str]:
    """``ours`` as a multiple of ``base``, column by column."""
    latencies = ("-", "-")
    if base.ttfb and ours.ttfb and base.total and ours.total:
        latencies = (
            _ratio(ours.ttfb.p50_ms, base.ttfb.p50_ms),
            _ratio(ours.total.p50_ms, base.total.p50_ms),
        )
    return [
        name,
        label,
        _ratio(ours.requests_per_s, base.requests_per_s),
        _ratio(ours.cpu_per_1k_requests, base.cpu_per_1k_requests),
        _ratio(ours.cpu_per_100k_chunks, base.cpu_per_100k_chunks),
        "-",
        f"{latencies[0]} (p50)",
        f"{latencies[1]} (p50)",
        _ratio(ours.peak_rss_mb, base.peak_rss_mb),
        "",
        "",
    ]


def workload_rows(result: WorkloadResult) -> Rows:
    """The floor, chatgate and Node (when measured), then chatgate against each."""
    name = result.workload.name
    rows = [_measurement_row(name, result.floor), _measurement_row(name, result.chatgate)]
    if result.node is not None:
        rows.append(_measurement_row(name, result.node))
    rows.append(_ratio_row(name, "chatgate / floor", result.chatgate, result.floor))
    if result.node is not None:
        rows.append(_ratio_row(name, "chatgate / node", result.chatgate, result.node))
    return rows


W5_LINE = "W5 W1's load through /v1/chat/completions, streamed, with stream_options.include_usage"


def workload_lines(run: BenchRun) -> list[str]:
    lines = [w.workload.describe() for w in run.workloads]
    return lines + ([W5_LINE] if run.openai_api is not None else [])


def result_rows(run: BenchRun) -> Rows:
    return [row for result in run.workloads for row in workload_rows(result)]


def render_text(headers: Sequence[str], rows: Rows) -> str:
    widths = [max(len(r[i]) for r in [list(headers), *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(headers: Sequence[str], rows: Rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(c or " " for c in r) + " |" for r in rows)
    return "\n".join(lines)
