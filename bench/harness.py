"""A whole benchmark run: the fake upstream, chatgate and the Node reference
started on loopback ports with a throwaway data directory, every workload
measured against the no-proxy floor, through chatgate and through the Node
reference, and every process stopped at the end."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench.bodies import chatbot_ui_body, openai_body, v1_body
from bench.fdlimit import raise_fd_limit
from bench.machine import describe_machine, source_commit
from bench.measure import MB, Target, measure
from bench.node_route import NodeRoute, NodeUnavailable, install, node_env
from bench.procfs import process_tree, rss_bytes
from bench.results import BenchRun, Measurement, WorkloadResult, median_run
from bench.services import (
    HOST,
    Service,
    chatgate_env,
    create_user,
    free_port,
    running,
    running_command,
)
from bench.workloads import QUICK_WORKLOADS, WORKLOADS, Workload, through_v1
from chatgate import __version__

RUN_TIME_LIMIT_S = 720.0  # with the Node reference measured beside chatgate
API_KEY = "sk-x"
USERNAME = "bench"
WARM_UP = Workload(
    name="warm-up", summary="warm-up", chunks=10, delay_ms=0, requests=100, concurrency=10
)

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
    scale_to: int  # workers for W1 once more through chatgate; 0 skips it
    load_processes: int


@asynccontextmanager
async def serving(*, workers: int, env: Mapping[str, str], log_dir: Path) -> AsyncIterator[Service]:
    port = free_port()
    args = ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    async with running(
        name=f"chatgate-{workers}w", args=args, port=port, env=env, log_dir=log_dir
    ) as service:
        yield service


async def measure_workload(
    workload: Workload, systems: MeasuredSystems, options: Options
) -> WorkloadResult:
    """The floor, chatgate and the Node reference (when running) measured in turn,
    ``options.repeats`` times."""
    floors, ours, nodes = [], [], []
    for _ in range(options.repeats):
        floors.append(await measure(workload, systems.floor, options.load_processes))
        ours.append(await measure(workload, systems.chatgate, options.load_processes))
        if systems.node is not None:
            nodes.append(await measure(workload, systems.node, options.load_processes))
    return WorkloadResult(
        workload=workload,
        floor=median_run(floors),
        chatgate=median_run(ours),
        node=median_run(nodes) if nodes else None,
    )


def summary(result: WorkloadResult) -> str:
    floor, chatgate, node = result.floor, result.chatgate, result.node
    line = (
        f"  floor {floor.requests_per_s:,.0f} req/s, {floor.error_count} errors;"
        f" chatgate {chatgate.requests_per_s:,.0f} req/s,"
        f" {chatgate.cpu_per_1k_requests:.2f} CPU-s/1k, {chatgate.error_count} errors"
    )
    if node is not None:
        line += (
            f"; node {node.requests_per_s:,.0f} req/s,"
            f" {node.cpu_per_1k_requests:.2f} CPU-s/1k, {node.error_count} errors"
        )
    return line


@dataclass(frozen=True, slots=True)
class MeasuredSystems:
    floor: Target
    chatgate: Target
    node: Target | None  # None when the Node reference could not run


@dataclass(frozen=True, slots=True)
class Systems:
    """The two systems under test, running: the floor and chatgate in front of it."""

    floor: Target
    chatgate: Target
    env: Mapping[str, str]
    data_dir: Path
    chatgate_log: Path


@asynccontextmanager
async def systems(
    *, workers: int, max_concurrency: int, settings: Mapping[str, str] | None = None
) -> AsyncIterator[Systems]:
    """The fake upstream and chatgate with a user and key, stopped on the way out;
    ``settings`` are CHATGATE_ variables for chatgate beyond its defaults."""
    # Inherited by the servers, which hold a client and an upstream socket per stream.
    raise_fd_limit(4 * max_concurrency + 1024)
    async with AsyncExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chatgate-bench-")))
        fake_port = free_port()
        env = chatgate_env(data_dir=data_dir, upstream_port=fake_port) | dict(settings or {})
        fake = await stack.enter_async_context(
            running(
                name="fake-openai",
                args=["fake-openai", "--host", HOST, "--port", str(fake_port)],
                port=fake_port,
                env=env,
                log_dir=data_dir,
            )
        )
        token = await create_user(username=USERNAME, api_key=API_KEY, env=env)
        server = await stack.enter_async_context(
            serving(workers=workers, env=env, log_dir=data_dir)
        )
        yield Systems(
            floor=Target(
                system="floor",
                port=fake.port,
                path="/v1/chat/completions",
                token=API_KEY,
                mode="sse",
                body=openai_body,
                server_pid=fake.pid,
                upstream_pid=None,
            ),
            chatgate=Target(
                system="chatgate",
                port=server.port,
                path="/api/chat/openai",
                token=token,
                mode="text",
                body=chatbot_ui_body,
                server_pid=server.pid,
                upstream_pid=fake.pid,
            ),
            env=env,
            data_dir=data_dir,
            chatgate_log=server.log_path,
        )


async def prepare_node(progress: Progress) -> tuple[NodeRoute | None, str | None]:
    """The installed Node reference, or None and why it will not run."""
    progress("installing the Node reference's packages (cached after the first run)")
    try:
        route = await install()
    except NodeUnavailable as exc:
        progress(f"Node reference skipped: {exc}; its figures are the quoted ones")
        return None, str(exc)
    return route, None


@asynccontextmanager
async def node_serving(*, route: NodeRoute, running_systems: Systems) -> AsyncIterator[Target]:
    """The Node reference in front of the same fake upstream, taking chatgate's
    requests (the same body and token), for the duration of the block."""
    port = free_port()
    env = node_env(
        base=dict(running_systems.env),
        host=HOST,
        port=port,
        token=running_systems.chatgate.token,
        api_key=API_KEY,
    )
    async with running_command(
        name="node-reference",
        command=route.command(),
        port=port,
        env=env,
        log_dir=running_systems.data_dir,
    ) as service:
        yield replace(running_systems.chatgate, system="node", port=port, server_pid=service.pid)


async def measure_scaling(
    workload: Workload, running_systems: Systems, options: Options
) -> Measurement:
    """``workload`` through chatgate with ``options.scale_to`` workers."""
    async with serving(
        workers=options.scale_to, env=running_systems.env, log_dir=running_systems.data_dir
    ) as scaled:
        target = replace(running_systems.chatgate, port=scaled.port, server_pid=scaled.pid)
        await measure(WARM_UP, target, options.load_processes)
        return median_run(
            [
                await measure(workload, target, options.load_processes)
                for _ in range(options.repeats)
            ]
        )


async def measure_openai_api(
    workload: Workload, running_systems: Systems, options: Options
) -> Measurement:
    """W5: ``workload`` through chatgate's /v1/chat/completions, streamed with usage."""
    target = replace(
        running_systems.chatgate,
        system="chatgate /v1",
        path="/v1/chat/completions",
        mode="sse",
        body=v1_body,
    )
    w5 = through_v1(workload)
    await measure(WARM_UP, target, options.load_processes)
    return median_run(
        [await measure(w5, target, options.load_processes) for _ in range(options.repeats)]
    )


async def run_benchmark(options: Options, progress: Progress) -> BenchRun:
    stop_on_sigterm()
    workloads = QUICK_WORKLOADS if options.quick else WORKLOADS
    started, clock = datetime.now(UTC), time.perf_counter()
    machine = describe_machine()
    route, node_skipped = await prepare_node(progress)
    async with (
        asyncio.timeout(RUN_TIME_LIMIT_S),
        systems(
            workers=options.workers, max_concurrency=max(w.concurrency for w in workloads)
        ) as running_systems,
        AsyncExitStack() as stack,
    ):
        node: Target | None = None
        if route is not None:
            node = await stack.enter_async_context(
                node_serving(route=route, running_systems=running_systems)
            )
        measured = MeasuredSystems(
            floor=running_systems.floor, chatgate=running_systems.chatgate, node=node
        )
        idle_rss_mb = rss_bytes(process_tree(measured.chatgate.server_pid)) / MB
        progress(f"warming up (chatgate with {options.workers} worker(s))")
        await measure_workload(WARM_UP, measured, replace(options, repeats=1))
        results = []
        for workload in workloads:
            progress(workload.describe())
            results.append(await measure_workload(workload, measured, options))
            progress(summary(results[-1]))
        await stack.aclose()  # the Node reference is not needed for the runs below
        progress(f"W5: {workloads[0].name}'s load through /v1/chat/completions")
        openai_api = await measure_openai_api(workloads[0], running_systems, options)
        scaling: Measurement | None = None
        if options.scale_to:
            progress(f"{workloads[0].name} through chatgate with {options.scale_to} workers")
            scaling = await measure_scaling(workloads[0], running_systems, options)
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
        workloads=results,
        scaling=scaling,
        scaling_workers=options.scale_to,
        openai_api=openai_api,
        node_version=None if route is None else route.version,
        node_skipped=node_skipped,
    )
