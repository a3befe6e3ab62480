"""One measurement: a workload's load against one system, with the server's
and the upstream's CPU time read before and after, and memory sampled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bench.bodies import expected_answer_bytes
from bench.client import Mode, bearer
from bench.load_runner import LoadProcesses, merge_results, split_plan
from bench.loadgen import LoadPlan, LoadResult
from bench.measurement import Latency, Measurement
from bench.procfs import cpu_seconds, process_tree, rss_bytes
from bench.services import HOST
from bench.workloads import Workload

RSS_SAMPLE_INTERVAL_S = 0.1
REQUEST_TIMEOUT_S = 60.0
TIME_LIMIT_S = 180.0
MB = 1e6


@dataclass(frozen=True, slots=True)
class Target:
    """Where the load goes: the fake upstream directly (the floor) or chatgate."""

    system: str
    port: int
    path: str
    token: str
    mode: Mode
    body: Callable[[Workload], str]
    server_pid: int
    upstream_pid: int | None  # the fake upstream behind the server, if any
    # Other instances whose CPU counts as the server's (several behind a proxy).
    other_server_pids: tuple[int, ...] = ()
    proxy_pid: int | None = None  # a reverse proxy in front, its CPU counted apart
    # Signed in by this Cookie header (with the Origin a browser sends) instead of the token.
    cookie: str | None = None

    def credential(self) -> dict[str, str]:
        if self.cookie is None:
            return bearer(self.token)
        return {"Cookie": self.cookie, "Origin": f"http://{HOST}:{self.port}"}

    def server_tree(self) -> list[int]:
        return [
            pid for root in (self.server_pid, *self.other_server_pids) for pid in process_tree(root)
        ]


class PeakRss:
    def __init__(self) -> None:
        self.bytes = 0


@asynccontextmanager
async def sampling_rss(pids: list[int]) -> AsyncIterator[PeakRss]:
    """The highest resident memory of the processes while the block runs."""
    peak = PeakRss()

    async def sample() -> None:
        while True:
            peak.bytes = max(peak.bytes, rss_bytes(pids))
            await asyncio.sleep(RSS_SAMPLE_INTERVAL_S)

    sampler = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        sampler.cancel()
        peak.bytes = max(peak.bytes, rss_bytes(pids))


def load_plan(workload: Workload, target: Target) -> LoadPlan:
    return LoadPlan(
        host=HOST,
        port=target.port,
        path=target.path,
        headers=target.credential(),
        body=target.body(workload),
        mode=target.mode,
        requests=workload.requests,
        concurrency=workload.concurrency,
        expected_answer_bytes=expected_answer_bytes(workload.chunks),
        request_timeout_s=REQUEST_TIMEOUT_S,
        time_limit_s=TIME_LIMIT_S,
    )


async def measure(workload: Workload, target: Target, load_processes: int = 1) -> Measurement:
    plans = split_plan(load_plan(workload, target), load_processes)
    server = target.server_tree()
    upstream = [] if target.upstream_pid is None else process_tree(target.upstream_pid)
    proxy = [] if target.proxy_pid is None else process_tree(target.proxy_pid)
    async with LoadProcesses(plans, module="bench.loadgen", result=LoadResult) as load:
        await load.ready()
        server_before, upstream_before = cpu_seconds(server), cpu_seconds(upstream)
        proxy_before = cpu_seconds(proxy)
        async with sampling_rss(server) as peak:
            result = merge_results(await load.run(TIME_LIMIT_S + 2 * REQUEST_TIMEOUT_S))
        server_cpu, upstream_cpu = cpu_seconds(server), cpu_seconds(upstream)
        proxy_cpu = cpu_seconds(proxy)
    return Measurement(
        system=target.system,
        answered=len(result.total_s),
        errors=result.errors,
        wall_s=result.finished - result.started,
        chunks_per_request=workload.chunks,
        server_cpu_s=server_cpu - server_before,
        upstream_cpu_s=None if target.upstream_pid is None else upstream_cpu - upstream_before,
        proxy_cpu_s=None if target.proxy_pid is None else proxy_cpu - proxy_before,
        load_cpu_s=result.cpu_s,
        load_processes=len(plans),
        ttfb=Latency.of(result.ttfb_s),
        total=Latency.of(result.total_s),
        peak_rss_mb=peak.bytes / MB,
    )
