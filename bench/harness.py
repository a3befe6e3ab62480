"""A whole benchmark run: the fake upstream, chatgate and the Node reference
started on loopback ports with a throwaway data directory, every workload
measured against the no-proxy floor, through chatgate, through the Node
reference and through chatgate's other setups (bench/variants.py); then memory
by number of open streams; every process stopped at the end."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bench.case_results import ClusterResult, MemorySlope
from bench.cluster import INSTANCES
from bench.features import FEATURE_SETTINGS
from bench.machine import describe_machine, source_commit
from bench.measure import MB, Target, measure
from bench.measurement import Measurement, median_run
from bench.memory_slope import FULL_COUNTS, QUICK_COUNTS, measure_memory_slope
from bench.node_route import NodeRoute, NodeUnavailable, install
from bench.procfs import process_tree, rss_bytes
from bench.results import BenchRun, WorkloadResult
from bench.systems import node_serving, systems
from bench.variants import StartedVariants, start_variants
from bench.workloads import QUICK_WORKLOADS, WARM_UP, WORKLOADS, Workload
from chatgate import __version__

# With the Node reference and chatgate's other setups measured beside chatgate.
RUN_TIME_LIMIT_S = 900.0

Progress = Callable[[str], None]


def stop_on_sigterm() -> None:
    """Make SIGTERM cancel the running task, so that a run stopped from outside
    still stops every process it started on the way out."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


@dataclass(frozen=True, slots=True)
class Options:
    quick: bool
    repeats: int
    workers: int
    scale_to: int  # workers for W1 and W3 once more through chatgate; 0 skips it
    load_processes: int

    @property
    def memory_counts(self) -> tuple[int, int]:
        return QUICK_COUNTS if self.quick else FULL_COUNTS


@dataclass(frozen=True, slots=True)
class MeasuredSystems:
    floor: Target
    chatgate: Target
    node: Target | None  # None when the Node reference could not run
    variants: StartedVariants = field(default_factory=StartedVariants)


async def measure_workload(
    workload: Workload, systems: MeasuredSystems, options: Options
) -> tuple[WorkloadResult, dict[str, Measurement]]:
    """The floor, chatgate, the Node reference (when running) and the variants
    beside this workload, measured in turn, ``options.repeats`` times; the
    workload's result and each variant's median by its key.

    chatgate is measured again after each variant: the machine drifts over a
    repetition (the fake upstream, for one, keeps every request it gets), so a
    chatgate figure taken only at its start would flatter it against all that
    follow; its median is over every position instead."""
    floors, ours, nodes = [], [], []
    beside = systems.variants.beside(workload)
    theirs: dict[str, list[Measurement]] = {v.key: [] for v in beside}
    for _ in range(options.repeats):
        floors.append(await measure(workload, systems.floor, options.load_processes))
        ours.append(await measure(workload, systems.chatgate, options.load_processes))
        if systems.node is not None:
            nodes.append(await measure(workload, systems.node, options.load_processes))
        for variant in beside:
            load = variant.load(workload)
            theirs[variant.key].append(await measure(load, variant.target, options.load_processes))
            ours.append(await measure(workload, systems.chatgate, options.load_processes))
    result = WorkloadResult(
        workload=workload,
        floor=median_run(floors),
        chatgate=median_run(ours),
        node=median_run(nodes) if nodes else None,
    )
    return result, {key: median_run(runs) for key, runs in theirs.items()}


def _figures(m: Measurement) -> str:
    return (
        f"{m.system} {m.requests_per_s:,.0f} req/s, {m.cpu_per_1k_requests:.2f} CPU-s/1k,"
        f" {m.error_count} errors"
    )


def summary(result: WorkloadResult, medians: dict[str, Measurement]) -> str:
    measured = [result.floor, result.chatgate] + ([result.node] if result.node else [])
    return "  " + "; ".join(_figures(m) for m in [*measured, *medians.values()])


async def prepare_node(progress: Progress) -> tuple[NodeRoute | None, str | None]:
    """The installed Node reference, or None and why it will not run."""
    progress("installing the Node reference's packages (cached after the first run)")
    try:
        route = await install()
    except NodeUnavailable as exc:
        progress(f"Node reference skipped: {exc}; its figures are the quoted ones")
        return None, str(exc)
    return route, None


async def warm_up(measured: MeasuredSystems, options: Options) -> None:
    """Every system's first requests (connections, caches, a signed-in user) unmeasured."""
    await measure_workload(WARM_UP, measured, replace(options, repeats=1))
    for variant in measured.variants.variants:
        await measure(WARM_UP, variant.target, options.load_processes)


@dataclass(slots=True)
class Found:
    """What the run found, gathered as it goes."""

    workloads: list[WorkloadResult] = field(default_factory=list)
    medians: dict[str, Measurement] = field(default_factory=dict)  # the variants', by key
    memory: MemorySlope | None = None


async def measure_workloads(
    measured: MeasuredSystems,
    workloads: tuple[Workload, ...],
    *,
    options: Options,
    progress: Progress,
    found: Found,
) -> None:
    for workload in workloads:
        beside = measured.variants.beside(workload)
        also = "; beside it: " + ", ".join(v.target.system for v in beside) if beside else ""
        progress(workload.describe() + also)
        result, medians = await measure_workload(workload, measured, options)
        found.workloads.append(result)
        found.medians.update(medians)
        progress(summary(result, medians))


def cluster_result(found: Found, variants: StartedVariants) -> ClusterResult | None:
    if variants.nginx_version is None:
        return None
    return ClusterResult(
        instances=INSTANCES,
        nginx_version=variants.nginx_version,
        w1=found.medians.get("cluster_w1"),
        w3=found.medians.get("cluster_w3"),
    )


async def run_benchmark(options: Options, progress: Progress) -> BenchRun:
    stop_on_sigterm()
    workloads = QUICK_WORKLOADS if options.quick else WORKLOADS
    w3 = next(w for w in workloads if w.name == "W3")
    started, clock = datetime.now(UTC), time.perf_counter()
    machine = describe_machine()
    route, node_skipped = await prepare_node(progress)
    most_streams = max([w.concurrency for w in workloads] + list(options.memory_counts))
    found = Found()
    async with (
        asyncio.timeout(RUN_TIME_LIMIT_S),
        systems(
            workers=options.workers, max_concurrency=most_streams, settings=FEATURE_SETTINGS
        ) as running_systems,
    ):
        idle_rss_mb = rss_bytes(process_tree(running_systems.chatgate.server_pid)) / MB
        async with AsyncExitStack() as stack:
            node: Target | None = None
            if route is not None:
                node = await stack.enter_async_context(
                    node_serving(route=route, running_systems=running_systems)
                )
            progress("starting chatgate's other setups")
            variants = await start_variants(
                stack,
                running_systems,
                scale_to=options.scale_to,
                connections=max(w.concurrency for w in workloads),
                progress=progress,
            )
            measured = MeasuredSystems(
                floor=running_systems.floor,
                chatgate=running_systems.chatgate,
                node=node,
                variants=variants,
            )
            progress(f"warming up (chatgate with {options.workers} worker(s), and the others)")
            await warm_up(measured, options)
            await measure_workloads(
                measured, workloads, options=options, progress=progress, found=found
            )
        # Only the fake upstream is left running: each memory point starts its own chatgate.
        found.memory = await measure_memory_slope(
            options.memory_counts,
            w3=w3,
            running_systems=running_systems,
            load_processes=options.load_processes,
            progress=progress,
        )
    return BenchRun(
        started=started.isoformat(timespec="seconds"),
        duration_s=time.perf_counter() - clock,
        quick=options.quick,
        repeats=options.repeats,
        workers=options.workers,
        load_processes=options.load_processes,
        chatgate_version=__version__,
        commit=source_commit(),
        machine=machine,
        chatgate_idle_rss_mb=idle_rss_mb,
        workloads=found.workloads,
        scaling=found.medians.get("scaling"),
        scaling_workers=options.scale_to,
        scaling_w3=found.medians.get("scaling_w3"),
        openai_api=found.medians.get("openai_api"),
        cookie_sign_in=found.medians.get("cookie_sign_in"),
        cookie_sign_in_skipped=variants.cookie_skipped,
        memory=found.memory,
        cluster=cluster_result(found, variants),
        cluster_skipped=variants.cluster_skipped,
        chatgate_settings=FEATURE_SETTINGS,
        node_version=None if route is None else route.version,
        node_skipped=node_skipped,
    )
