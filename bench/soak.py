"""``python -m bench.soak [--concurrency N] [--minutes M] [--quick]``: hold many
slow streams through one chatgate for minutes, with a mix of upstream failures
and clients leaving, and check that nothing accumulates: memory, file
descriptors, answers counted as streaming. Prints the findings and saves them,
with chatgate's log, in bench/results/.

chatgate runs with its default settings, except that it does not retry the
upstream (CHATGATE_UPSTREAM_MAX_RETRIES=0), so that every injected failure
reaches the client as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp

from bench.bodies import chat_body
from bench.harness import stop_on_sigterm
from bench.load_runner import LoadProcesses
from bench.machine import describe_machine, source_commit
from bench.measure import MB, sampling_rss
from bench.measurement import Latency
from bench.procfs import cpu_seconds, open_fds, process_tree, rss_bytes
from bench.prometheus_text import metric_value
from bench.services import HOST
from bench.soak_load import SoakLoadResult, SoakPlan
from bench.soak_logs import summarise_log
from bench.soak_mix import Fault, directive
from bench.soak_report import render_soak
from bench.soak_results import CHECKPOINT_FRACTIONS, FD_TOLERANCE, Snapshot, SoakRun
from bench.systems import systems
from chatgate import __version__

FULL = (500, 5.0)  # concurrency, minutes
QUICK = (100, 0.5)
CHUNKS, DELAY_MS = 20, 100  # a slow answer: 20 chunks 100 ms apart
RAMP_S = 5.0  # the streams start spread over this, not all in the same instant
REQUEST_TIMEOUT_S = 60.0
WARM_UP_REQUESTS = 20  # opens the database pool before the baseline is read
IDLE_WAIT_S = 20.0  # then idle upstream connections close (aiohttp keeps them 15 s)
FAKE_LOG_CLEAR_INTERVAL_S = 10.0  # the fake upstream keeps every request it receives
DRAIN_LIMIT_S = 60.0
DRAIN_POLL_S = 0.5
SETTINGS = {"CHATGATE_UPSTREAM_MAX_RETRIES": "0"}

Progress = Callable[[str], None]


class SoakFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Options:
    concurrency: int
    minutes: float

    @property
    def kind(self) -> str:
        shape = (self.concurrency, self.minutes)
        return "full" if shape == FULL else "quick" if shape == QUICK else "custom"


@dataclass(frozen=True, slots=True)
class Probe:
    """chatgate seen from outside: its process tree in /proc and its /metrics."""

    http: aiohttp.ClientSession
    pid: int
    port: int

    async def snapshot(self, at_s: float) -> Snapshot:
        async with self.http.get(f"http://{HOST}:{self.port}/metrics") as response:
            active = metric_value(await response.text(), "chatgate_active_answers")
        tree = process_tree(self.pid)
        return Snapshot(
            at_s=at_s, rss_mb=rss_bytes(tree) / MB, fds=open_fds(tree), active_answers=active
        )


def describe_snapshot(label: str, snapshot: Snapshot) -> str:
    return (
        f"{label}: RSS {snapshot.rss_mb:.0f} MB, {snapshot.fds} open fds,"
        f" {snapshot.active_answers:.0f} answers streaming"
    )


async def warm_up(http: aiohttp.ClientSession, *, port: int, path: str, token: str) -> None:
    body = chat_body(directive(Fault.NONE, index=0, chunks=CHUNKS, delay_ms=0))
    headers = {"Authorization": f"Bearer {token}"}

    async def one() -> None:
        async with http.post(f"http://{HOST}:{port}{path}", data=body, headers=headers) as reply:
            await reply.read()
            if reply.status != 200:
                raise SoakFailed(f"warm-up request answered {reply.status}")

    await asyncio.gather(*(one() for _ in range(WARM_UP_REQUESTS)))


async def under_load(
    probe: Probe, *, go: float, duration_s: float, fake_port: int, progress: Progress
) -> list[Snapshot]:
    """A snapshot at each checkpoint of the run; meanwhile, the fake upstream's
    record of requests is cleared now and then to keep its memory flat."""
    loop = asyncio.get_running_loop()
    clear_url = f"http://{HOST}:{fake_port}/_fake/requests"
    taken = []
    for fraction in CHECKPOINT_FRACTIONS:
        due = go + fraction * duration_s
        while (left := due - loop.time()) > 0:
            await asyncio.sleep(min(left, FAKE_LOG_CLEAR_INTERVAL_S))
            async with probe.http.delete(clear_url) as response:
                response.raise_for_status()
        taken.append(await probe.snapshot(at_s=loop.time() - go))
        progress(describe_snapshot(f"{fraction:.0%} of the run", taken[-1]))
    return taken


async def drained(probe: Probe, *, go: float, baseline: Snapshot) -> Snapshot:
    """The first snapshot with no answer streaming and file descriptors back near
    the baseline, or the last one taken within DRAIN_LIMIT_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_LIMIT_S
    while True:
        snapshot = await probe.snapshot(at_s=loop.time() - go)
        idle = snapshot.active_answers == 0 and snapshot.fds <= baseline.fds + FD_TOLERANCE
        if idle or loop.time() >= deadline:
            return snapshot
        await asyncio.sleep(DRAIN_POLL_S)


async def run_soak(options: Options, progress: Progress) -> tuple[SoakRun, str]:
    """The soak's findings, and chatgate's whole log."""
    stop_on_sigterm()
    started, machine = datetime.now(UTC), describe_machine()
    duration_s = options.minutes * 60
    limit_s = IDLE_WAIT_S + RAMP_S + duration_s + REQUEST_TIMEOUT_S + DRAIN_LIMIT_S + 120
    loop = asyncio.get_running_loop()
    progress(f"starting chatgate and the fake upstream; the run ends within {limit_s:.0f} s")
    async with (
        asyncio.timeout(limit_s),
        systems(workers=1, max_concurrency=options.concurrency, settings=SETTINGS) as running,
        aiohttp.ClientSession() as http,
    ):
        chatgate, upstream = running.chatgate, running.floor
        probe = Probe(http=http, pid=chatgate.server_pid, port=chatgate.port)
        await warm_up(http, port=chatgate.port, path=chatgate.path, token=chatgate.token)
        await asyncio.sleep(IDLE_WAIT_S)
        baseline = await probe.snapshot(at_s=0.0)
        progress(describe_snapshot("baseline", baseline))
        plan = SoakPlan(
            host=HOST,
            port=chatgate.port,
            path=chatgate.path,
            token=chatgate.token,
            concurrency=options.concurrency,
            duration_s=duration_s,
            ramp_s=RAMP_S,
            chunks=CHUNKS,
            delay_ms=DELAY_MS,
            request_timeout_s=REQUEST_TIMEOUT_S,
        )
        server, fake = process_tree(chatgate.server_pid), process_tree(upstream.server_pid)
        progress(f"{options.concurrency} streams for {duration_s:.0f} s")
        async with LoadProcesses([plan], module="bench.soak_load", result=SoakLoadResult) as load:
            await load.ready()
            server_cpu, fake_cpu = cpu_seconds(server), cpu_seconds(fake)
            async with sampling_rss(server) as peak:
                go = loop.time()
                load_task = asyncio.create_task(load.run(duration_s + 2 * REQUEST_TIMEOUT_S))
                try:
                    checkpoints = await under_load(
                        probe,
                        go=go,
                        duration_s=duration_s,
                        fake_port=upstream.port,
                        progress=progress,
                    )
                    [result] = await load_task
                finally:
                    load_task.cancel()
            load_ended = loop.time()
            server_cpu, fake_cpu = cpu_seconds(server) - server_cpu, cpu_seconds(fake) - fake_cpu
        end = await drained(probe, go=go, baseline=baseline)
        progress(describe_snapshot("after the load", end))
        log_text = running.chatgate_log.read_text(errors="replace")
    log_events, access = summarise_log(log_text.splitlines())
    run = SoakRun(
        started=started.isoformat(timespec="seconds"),
        kind=options.kind,
        concurrency=options.concurrency,
        minutes=options.minutes,
        chunks=CHUNKS,
        delay_ms=DELAY_MS,
        chatgate_version=__version__,
        commit=source_commit(),
        machine=machine,
        wall_s=result.finished - result.started,
        outcomes=result.outcomes,
        ttfb=Latency.of(result.ttfb_s),
        baseline=baseline,
        checkpoints=checkpoints,
        end=end,
        drain_s=loop.time() - load_ended,
        peak_rss_mb=peak.bytes / MB,
        server_cpu_s=server_cpu,
        upstream_cpu_s=fake_cpu,
        load_cpu_s=result.cpu_s,
        log_events=log_events,
        access=access,
    )
    return run, log_text


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 s at 100 streams: a smoke run")
    parser.add_argument("--concurrency", type=int, metavar="N", help="streams held [500]")
    parser.add_argument("--minutes", type=float, metavar="M", help="length of the run [5]")
    args = parser.parse_args(argv)
    concurrency, minutes = QUICK if args.quick else FULL
    options = Options(
        concurrency=concurrency if args.concurrency is None else args.concurrency,
        minutes=minutes if args.minutes is None else args.minutes,
    )
    if options.concurrency < 1 or options.minutes <= 0:
        parser.error("--concurrency and --minutes must be positive")
    return options


def progress(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def main() -> None:
    options = parse_options(sys.argv[1:])
    try:
        run, log_text = asyncio.run(run_soak(options, progress))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("stopped; so is every process the run started")
    print()
    print(render_soak(run))
    path = run.save()
    path.with_suffix(".log").write_text(log_text)
    print(f"\nresults saved to {path}, chatgate's log to {path.with_suffix('.log')}")
    if run.kind == "full":
        print(f"`python -m bench.soak_report {path}` writes them into docs/performance.md")


if __name__ == "__main__":
    main()
