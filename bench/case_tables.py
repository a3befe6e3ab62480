"""The tables of chatgate's other setups, beside the workload table: by number
of workers, by way in (token, /v1, Supabase cookie), as two instances behind
nginx, and memory by number of open streams."""

from __future__ import annotations

from bench.cookie_sign_in import SETTING_NAMES
from bench.features import describe_settings
from bench.measurement import Measurement
from bench.results import BenchRun
from bench.tables import Rows, cpu_with_range, latency
from bench.workloads import HELD_CHUNKS, HELD_DELAY_MS

WORKERS_HEADERS = [
    "workload",
    "workers",
    "req/s",
    "CPU-s / 1k req (range)",
    "CPU per request vs 1 worker",
    "TTFB p50 / p99 ms",
    "peak RSS MB",
    "errors",
]
WAYS_IN_HEADERS = [
    "way in",
    "req/s",
    "CPU-s / 1k req (range)",
    "CPU per request vs W1",
    "TTFB p50 / p99 ms",
    "errors",
]
CLUSTER_HEADERS = [
    "workload",
    "system",
    "req/s",
    "chatgate CPU-s / 1k req (range)",
    "vs one instance",
    "nginx CPU-s / 1k req",
    "TTFB p50 / p99 ms",
    "errors",
]
MEMORY_HEADERS = [
    "open streams",
    "most answers streaming at once",
    "idle RSS MB",
    "peak RSS MB",
    "TTFB p50 / p99 ms",
    "errors",
]
COOKIE_LINE = (
    "Signed in by Supabase's session cookie: chatgate set up as behind Chatbot UI"
    f" ({', '.join(f'`{name}`' for name in SETTING_NAMES)}: an HS256 access token in"
    " `sb-<ref>-auth-token` as @supabase/ssr 0.0.10 writes it, the OpenAI key read from"
    " Chatbot UI's `public.profiles` in PostgreSQL), no `Authorization` header, the"
    " browser's `Origin`."
)


def settings_line(run: BenchRun) -> str:
    return f"chatgate ran with {describe_settings(run.chatgate_settings)}."


def _ratio(ours: Measurement, base: Measurement) -> str:
    return f"{ours.cpu_per_1k_requests / max(base.cpu_per_1k_requests, 1e-9):.2f}x"


def _errors(m: Measurement) -> str:
    return str(m.error_count)


def _ttfb(m: Measurement) -> str:
    return latency(m.ttfb)


def workers_rows(run: BenchRun) -> Rows:
    rows = []
    for name, scaled in (("W1", run.scaling), ("W3", run.scaling_w3)):
        result = run.workload(name)
        if result is None or scaled is None:
            continue
        for workers, m in ((run.workers, result.chatgate), (run.scaling_workers, scaled)):
            rows.append(
                [
                    name,
                    str(workers),
                    f"{m.requests_per_s:,.0f}",
                    cpu_with_range(m),
                    _ratio(m, result.chatgate),
                    _ttfb(m),
                    f"{m.peak_rss_mb:.0f}",
                    _errors(m),
                ]
            )
    return rows


def ways_in_rows(run: BenchRun) -> Rows:
    w1 = run.workload("W1")
    if w1 is None:
        return []
    ways: list[tuple[str, Measurement | None, str | None]] = [
        ("W1, a chatgate token", w1.chatgate, None),
        ("W5, /v1/chat/completions with usage", run.openai_api, None),
        ("W1, Supabase session cookie", run.cookie_sign_in, run.cookie_sign_in_skipped),
    ]
    rows = []
    for name, m, skipped in ways:
        if m is None:
            if skipped:
                rows.append([name, f"not measured: {skipped}", "", "", "", ""])
            continue
        rows.append(
            [
                name,
                f"{m.requests_per_s:,.0f}",
                cpu_with_range(m),
                _ratio(m, w1.chatgate),
                _ttfb(m),
                _errors(m),
            ]
        )
    return rows


def cluster_rows(run: BenchRun) -> Rows:
    shared = run.cluster
    if shared is None:
        return []
    rows = []
    for name, m in (("W1", shared.w1), ("W3", shared.w3)):
        result = run.workload(name)
        if result is None or m is None:
            continue
        proxy = "-" if m.proxy_cpu_s is None else f"{m.per_1k_requests(m.proxy_cpu_s):.3f}"
        for system, one in (("one instance, alone", result.chatgate), (m.system, m)):
            rows.append(
                [
                    name,
                    system,
                    f"{one.requests_per_s:,.0f}",
                    cpu_with_range(one),
                    _ratio(one, result.chatgate),
                    proxy if one is m else "-",
                    _ttfb(one),
                    _errors(one),
                ]
            )
    return rows


def cluster_line(run: BenchRun) -> str:
    if run.cluster is None:
        why = run.cluster_skipped or "not measured in this run"
        return f"Two instances behind nginx: skipped ({why})."
    return (
        f"{run.cluster.instances} instances of chatgate (1 worker each) behind nginx"
        f" {run.cluster.nginx_version} (round robin, keep-alive upstream connections),"
        " sharing a PostgreSQL database (`CHATGATE_DATABASE_URL`) and a Redis database"
        " (`CHATGATE_REDIS_URL`: the limits, the quotas' counters and the identity feed),"
        " with the settings above; CPU is both instances' together, nginx's apart."
    )


def memory_rows(run: BenchRun) -> Rows:
    if run.memory is None:
        return []
    return [
        [
            f"{point.streams:,}",
            f"{point.peak_streaming:,}",
            f"{point.idle_rss_mb:.0f}",
            f"{point.run.peak_rss_mb:.0f}",
            _ttfb(point.run),
            _errors(point.run),
        ]
        for point in run.memory.points
    ]


def memory_line(run: BenchRun) -> str:
    memory = run.memory
    if memory is None:
        return "Memory by open streams: not measured in this run."
    return (
        f"Memory per open stream: {memory.kb_per_stream:.1f} KB (1 KB = 1,000 bytes), the"
        f" slope of peak RSS between the two runs; the fixed part (the line's intercept)"
        f" {memory.fixed_mb:.0f} MB; idle before the first request {memory.idle_rss_mb:.0f} MB."
        f" Each run is a fresh chatgate with one worker and slow answers ({HELD_CHUNKS} chunks,"
        f" {HELD_DELAY_MS:,} ms apart: a pace one worker keeps with 4,000 streams), each"
        " connection sending two requests one after the other, so that every connection"
        " has a request in flight from the start of the run to its last stretch; the most"
        " answers streaming at once (past their first byte) is read from `/metrics`."
    )
