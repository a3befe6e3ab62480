"""Memory per open stream: a fresh chatgate (one worker) holding slow streams
(bench.workloads.holding_streams), at two numbers of streams at once; the slope of its peak resident
memory (process tree) between them is what each open stream costs, the
intercept what is there before any."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import aiohttp

from bench.case_results import MemoryPoint, MemorySlope
from bench.measure import MB, measure
from bench.procfs import process_tree, rss_bytes
from bench.prometheus_text import MetricMissing, metric_value
from bench.services import HOST
from bench.systems import Systems, serving
from bench.workloads import WARM_UP, Workload, holding_streams

FULL_COUNTS = (1000, 4000)
QUICK_COUNTS = (100, 400)
METRICS_INTERVAL_S = 0.2
METRICS_TIMEOUT_S = 10.0

Progress = Callable[[str], None]


class MostStreaming:
    def __init__(self) -> None:
        self.answers = 0


@asynccontextmanager
async def watching_answers(port: int) -> AsyncIterator[MostStreaming]:
    """The most answers streaming at once while the block runs, read from /metrics."""
    most = MostStreaming()

    async def watch(http: aiohttp.ClientSession) -> None:
        while True:
            try:
                async with http.get(f"http://{HOST}:{port}/metrics") as response:
                    text = await response.text()
                most.answers = max(most.answers, int(metric_value(text, "chatgate_active_answers")))
            except (aiohttp.ClientError, TimeoutError, MetricMissing):
                pass  # a busy server may not answer in time; the next reading will
            await asyncio.sleep(METRICS_INTERVAL_S)

    timeout = aiohttp.ClientTimeout(total=METRICS_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        watcher = asyncio.create_task(watch(http))
        try:
            yield most
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def memory_point(
    streams: int, *, w3: Workload, running_systems: Systems, load_processes: int
) -> MemoryPoint:
    async with serving(
        workers=1,
        env=running_systems.env,
        log_dir=running_systems.data_dir,
        name=f"chatgate-memory-{streams}",
    ) as service:
        idle_rss_mb = rss_bytes(process_tree(service.pid)) / MB
        target = running_systems.through(service, system=f"chatgate, {streams:,} streams")
        await measure(WARM_UP, target)
        async with watching_answers(service.port) as most:
            run = await measure(holding_streams(w3, streams), target, load_processes)
    return MemoryPoint(
        streams=streams, idle_rss_mb=idle_rss_mb, peak_streaming=most.answers, run=run
    )


async def measure_memory_slope(
    counts: Sequence[int],
    *,
    w3: Workload,
    running_systems: Systems,
    load_processes: int,
    progress: Progress,
) -> MemorySlope:
    points = []
    for streams in sorted(counts):
        progress(f"memory: a fresh chatgate holding {holding_streams(w3, streams).describe()}")
        point = await memory_point(
            streams, w3=w3, running_systems=running_systems, load_processes=load_processes
        )
        progress(
            f"  idle {point.idle_rss_mb:.0f} MB, peak {point.run.peak_rss_mb:.0f} MB;"
            f" at most {point.peak_streaming:,} answers streaming at once;"
            f" {point.run.error_count} errors"
        )
        points.append(point)
    return MemorySlope(points=points)
