"""Benchmark runs made up for the tests of the benchmark's tables, goals and report:
every figure chosen, so that each derived one is known."""

from __future__ import annotations

from bench.case_results import ClusterResult, MemoryPoint, MemorySlope
from bench.measurement import Latency, Measurement
from bench.results import BenchRun, Machine, WorkloadResult
from bench.workloads import WORKLOADS

MACHINE = Machine(cpus=2, cpu_model="x", python="3.11", kernel="6", load_average="0 0 0")


def measurement(system: str, *, cpu_s: float, ttfb_ms: float, rss_mb: float = 50) -> Measurement:
    latency = Latency(p50_ms=ttfb_ms, p99_ms=ttfb_ms * 2)
    return Measurement(
        system=system,
        answered=1000,
        errors={},
        wall_s=1,
        chunks_per_request=10,
        server_cpu_s=cpu_s,
        upstream_cpu_s=None,
        load_cpu_s=0.1,
        load_processes=1,
        ttfb=latency,
        total=latency,
        peak_rss_mb=rss_mb,
    )


def bench_run(*, node: bool) -> BenchRun:
    """W1 to W4 with chatgate at 0.5 CPU-s per 1,000 requests, adding 0.3 ms to the
    first byte; Node, when it ran, at 4.0 CPU-s per 1,000 requests, adding 2.0 ms."""
    results = [
        WorkloadResult(
            workload=workload,
            floor=measurement("floor", cpu_s=0.2, ttfb_ms=1.0),
            chatgate=measurement("chatgate", cpu_s=0.5, ttfb_ms=1.3, rss_mb=90),
            node=measurement("node", cpu_s=4.0, ttfb_ms=3.0, rss_mb=120) if node else None,
        )
        for workload in WORKLOADS
    ]
    return BenchRun(
        started="2026-01-01T00:00:00+00:00",
        duration_s=1,
        quick=False,
        repeats=1,
        workers=1,
        load_processes=1,
        chatgate_version="0",
        commit="abc",
        machine=MACHINE,
        chatgate_idle_rss_mb=80,
        workloads=results,
        scaling=None,
        scaling_workers=0,
        node_version="v20.0.0" if node else None,
        node_skipped=None if node else "node and npm not found on PATH",
    )


def memory_point(streams: int, *, peak_mb: float, idle_mb: float = 100) -> MemoryPoint:
    run = measurement(f"chatgate, {streams} streams", cpu_s=1.0, ttfb_ms=50, rss_mb=peak_mb)
    return MemoryPoint(streams=streams, idle_rss_mb=idle_mb, peak_streaming=streams, run=run)


def full_run(*, node: bool = True) -> BenchRun:
    """bench_run with every other setup measured: 2 workers at 0.52 CPU-s per 1,000
    requests, /v1 at 0.55, the Supabase cookie at 0.51, two instances behind nginx
    at 0.6 (W1) and 0.7 (W3) with 2.5 ms to the first byte, and memory growing from
    110 MB at 1,000 streams to 200 MB at 4,000 (30 KB a stream, 80 MB fixed)."""
    shared_w1 = measurement("2 chatgate + nginx", cpu_s=0.6, ttfb_ms=2.5)
    return bench_run(node=node).model_copy(
        update={
            "scaling": measurement("chatgate 2 workers", cpu_s=0.52, ttfb_ms=1.2),
            "scaling_workers": 2,
            "scaling_w3": measurement("chatgate 2 workers", cpu_s=0.52, ttfb_ms=1.9),
            "openai_api": measurement("chatgate /v1", cpu_s=0.55, ttfb_ms=1.3),
            "cookie_sign_in": measurement("chatgate, Supabase cookie", cpu_s=0.51, ttfb_ms=1.3),
            "cluster": ClusterResult(
                instances=2,
                nginx_version="1.22.1",
                w1=shared_w1.model_copy(update={"proxy_cpu_s": 0.1}),
                w3=measurement("2 chatgate + nginx", cpu_s=0.7, ttfb_ms=2.5),
            ),
            "memory": MemorySlope(
                points=[memory_point(1000, peak_mb=110), memory_point(4000, peak_mb=200)]
            ),
            "chatgate_settings": {"CHATGATE_RATE_LIMIT_PER_MINUTE": "100000000"},
        }
    )
