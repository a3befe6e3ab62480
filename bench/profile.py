"""``uv run --with py-spy python -m bench.profile``: where chatgate's CPU goes under W1.

Starts the fake upstream and chatgate as the benchmark does (every feature on)
and runs W1 a few times while py-spy samples the thread holding the GIL (time
spent working, not waiting). It saves the raw stacks and prints, as shares of all samples,
the costliest packages and functions by self time and the time spent inside
each step of the chat route; and, from /proc, how the process's CPU time
splits between its threads.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from bench.features import FEATURE_SETTINGS
from bench.harness import stop_on_sigterm
from bench.measure import measure
from bench.procfs import cpu_seconds, thread_cpu_seconds
from bench.results import RESULTS_DIR
from bench.systems import systems
from bench.workloads import WARM_UP, WORKLOADS

ROUNDS = 3
SAMPLE_RATE = 200
RUN_TIME_LIMIT_S = 300.0
SPY_STOP_TIMEOUT_S = 30.0
TOP = 15

# The chat route's steps, as the functions (py-spy's qualified names) that perform them.
STEPS = {
    "admit: the credential, the limits, the quota check, reading the body": "admit",
    "read_chat_body: parsing and checking the body": "read_chat_body",
    "post_for_stream: the upstream request, to its response's head": "post_for_stream",
    "stream_reads: the upstream request and reading its events": "stream_reads",
    "relay_text: the answer, read and sent (includes stream_reads)": "relay_text",
    "usage: the meter (and the event reading it wraps), the ledger row and its writing": (
        r"UsageMeter\.[\w.<>]+|Ledger\.[\w.<>]+|Answering\.__aexit__|meter_for"
    ),
    "send: uvicorn's send, under the access log's wrapper": (
        r"AccessLog\.__call__\.<locals>\.send_with_id"
    ),
}
# SQLAlchemy runs its synchronous core in greenlets, whose stacks py-spy shows apart.
IN_GREENLETS = "SQLAlchemy work in greenlets (the token lookup, the ledger's writes)"
NO_FRAME = "no Python frame"
MAIN_ENTRY = "_run_module_as_main ("

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


class Share(BaseModel):
    name: str
    percent: float


class Profile(BaseModel):
    started: str
    samples: int
    cpu_per_1k_requests: float  # while sampled
    packages: list[Share]  # self time, by package (chatgate by module)
    functions: list[Share]  # self time, by function
    steps: list[Share]  # samples inside each step of the chat route
    threads: list[Share]  # the process's CPU time, by thread


def parse_stacks(lines: Iterable[str]) -> Counter[tuple[str, ...]]:
    """py-spy's raw (collapsed) output: ``frame;frame;...;leaf count`` per line."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if count.isdigit():
            frames = tuple(f for f in stack.split(";") if f)
            stacks[frames] += int(count)
    return stacks


def package_of(function: str, file: str) -> str:
    """``aiohttp``, ``asyncio (stdlib)``, ``chatgate.providers.openai``... for a
    frame's file as py-spy names it (relative to its sys.path entry)."""
    if function == "Runner.run":
        # uvloop's loop is C code: its own time shows as the frame that started it.
        return "uvloop (event loop)"
    top = file.split("/", 1)[0].removesuffix(".py")
    if top == "chatgate":
        return file.removesuffix(".py").replace("/", ".")
    if top in sys.stdlib_module_names:
        return f"{top} (stdlib)"
    return top or "?"


def _shares(counts: Counter[str], total: int) -> list[Share]:
    return [Share(name=n, percent=100 * c / total) for n, c in counts.most_common(TOP)]


def _step_counts(stacks: Counter[tuple[str, ...]]) -> Counter[str]:
    patterns = {step: re.compile(rf"^(?:{names}) \(") for step, names in STEPS.items()}
    steps: Counter[str] = Counter()
    for stack, count in stacks.items():
        if not stack:
            steps[NO_FRAME] += count
        elif not stack[0].startswith(MAIN_ENTRY):
            steps[IN_GREENLETS] += count
        for step, pattern in patterns.items():
            if any(pattern.match(frame) for frame in stack):
                steps[step] += count
    return steps


def summarise(
    stacks: Counter[tuple[str, ...]], *, started: str, cpu_per_1k: float, threads: list[Share]
) -> Profile:
    total = sum(stacks.values()) or 1
    functions: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for stack, count in stacks.items():
        if not stack:
            packages[NO_FRAME] += count
            continue
        match = _FRAME.match(stack[-1])
        function, file = (match["function"], match["file"]) if match else (stack[-1], "")
        package = package_of(function, file)
        functions[f"{function} ({package})"] += count
        packages[package] += count
    steps = _step_counts(stacks)
    return Profile(
        started=started,
        samples=total,
        cpu_per_1k_requests=cpu_per_1k,
        packages=_shares(packages, total),
        functions=_shares(functions, total),
        steps=[
            Share(name=s, percent=100 * steps[s] / total) for s in [*STEPS, IN_GREENLETS, NO_FRAME]
        ],
        threads=threads,
    )


def thread_shares(
    pid: int, before: dict[int, float], after: dict[int, float], process_cpu: float
) -> list[Share]:
    """The process's CPU time split between its main thread, its other threads,
    and the threads that ended while it was measured."""
    delta = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    main = delta.pop(pid, 0.0)
    others = sum(delta.values())
    ended = max(process_cpu - main - others, 0.0)
    total = process_cpu or 1.0
    return [
        Share(name="main thread (the event loop)", percent=100 * main / total),
        Share(name="other threads still running", percent=100 * others / total),
        Share(name="threads that ended during the run", percent=100 * ended / total),
    ]


async def record(raw: Path, started: str) -> Profile:
    spy_binary = shutil.which("py-spy")
    if spy_binary is None:
        raise SystemExit("py-spy not found: run `uv run --with py-spy python -m bench.profile`")
    stop_on_sigterm()
    w1 = WORKLOADS[0]
    async with (
        asyncio.timeout(RUN_TIME_LIMIT_S),
        systems(workers=1, max_concurrency=w1.concurrency, settings=FEATURE_SETTINGS) as running,
    ):
        pid = running.chatgate.server_pid
        await measure(WARM_UP, running.chatgate)
        spy = await asyncio.create_subprocess_exec(
            spy_binary,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(SAMPLE_RATE),
            "--gil",
            "--format",
            "raw",
            "--output",
            str(raw),
        )
        threads_before, cpu_before = thread_cpu_seconds(pid), cpu_seconds([pid])
        answered = 0
        try:
            for round_ in range(ROUNDS):
                print(f"W1 round {round_ + 1} of {ROUNDS}", file=sys.stderr, flush=True)
                answered += (await measure(w1, running.chatgate)).answered
        finally:
            if spy.returncode is None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output as it stops
                try:
                    await asyncio.wait_for(spy.wait(), SPY_STOP_TIMEOUT_S)
                except TimeoutError:
                    spy.kill()
                    await spy.wait()
        process_cpu = cpu_seconds([pid]) - cpu_before
        threads = thread_shares(pid, threads_before, thread_cpu_seconds(pid), process_cpu)
    with raw.open() as lines:
        stacks = parse_stacks(lines)
    return summarise(
        stacks, started=started, cpu_per_1k=process_cpu / max(answered, 1) * 1e3, threads=threads
    )


def print_profile(profile: Profile) -> None:
    print(
        f"{profile.samples:,} samples of chatgate under W1"
        f" ({profile.cpu_per_1k_requests:.2f} CPU-s per 1,000 requests while sampled)"
    )
    for title, shares in (
        ("self time by package", profile.packages),
        ("self time by function", profile.functions),
        ("inside each step of the chat route", profile.steps),
        ("CPU time by thread (from /proc)", profile.threads),
    ):
        print(f"\n{title}")
        for share in shares:
            print(f"  {share.percent:5.1f}%  {share.name}")


def main() -> None:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    stamp = started.replace(":", "").replace("-", "")[:15]
    RESULTS_DIR.mkdir(exist_ok=True)
    raw = RESULTS_DIR / f"profile-{stamp}.txt"
    try:
        profile = asyncio.run(record(raw, started))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("stopped; so is every process the run started")
    print_profile(profile)
    summary = RESULTS_DIR / f"profile-{stamp}.json"
    summary.write_text(profile.model_dump_json(indent=2) + "\n")
    print(f"\nraw stacks in {raw}; summary in {summary}")


if __name__ == "__main__":
    main()
