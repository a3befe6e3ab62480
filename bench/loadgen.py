"""The load generator, run as its own process: ``python -m bench.loadgen PLAN``.

It opens the plan's connections, prints ``ready``, waits for a line on standard
input, then sends the plan's requests over ``concurrency`` keep-alive
connections and prints one LoadResult as JSON. Every request has a timeout and
no request starts after the plan's time limit.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter

import uvloop
from pydantic import BaseModel

from bench.client import (
    Connection,
    Exchange,
    Mode,
    ResponseBroken,
    answer_reader,
    connect,
    post_request,
)
from bench.fdlimit import raise_fd_limit
from bench.procfs import cpu_seconds


class LoadPlan(BaseModel):
    host: str
    port: int
    path: str
    headers: dict[str, str]  # the credential: a bearer token, or a session cookie
    body: str
    mode: Mode
    requests: int
    concurrency: int
    expected_answer_bytes: int
    request_timeout_s: float
    time_limit_s: float


class LoadResult(BaseModel):
    started: float  # time.perf_counter() when the load began (the same clock in every process)
    finished: float
    ttfb_s: list[float]  # per answered request, to the first answer byte
    total_s: list[float]
    errors: dict[str, int]
    cpu_s: float  # the load generator's own CPU time under load


class _Tally:
    def __init__(self, requests: int) -> None:
        self.unsent = requests
        self.ttfb: list[float] = []
        self.total: list[float] = []
        self.errors: Counter[str] = Counter()


def _problem(exchange: Exchange, expected_answer_bytes: int) -> str | None:
    if exchange.status != 200:
        return f"status {exchange.status}"
    if exchange.answer_bytes != expected_answer_bytes or exchange.first_byte is None:
        return "incomplete answer"
    if not exchange.ended:
        return "no end marker"
    return None


async def _open(plan: LoadPlan) -> Connection | None:
    try:
        return await asyncio.wait_for(connect(plan.host, plan.port), plan.request_timeout_s)
    except (OSError, TimeoutError):
        return None


async def _worker(
    plan: LoadPlan, request: bytes, connection: Connection | None, tally: _Tally, deadline: float
) -> None:
    while tally.unsent > 0 and time.perf_counter() < deadline:
        tally.unsent -= 1
        if connection is None or connection.closed or not connection.keep_alive:
            if connection is not None:
                connection.close()
            connection = await _open(plan)
            if connection is None:
                tally.errors["cannot connect"] += 1
                continue
        try:
            exchange = await asyncio.wait_for(
                connection.exchange(request, answer_reader(plan.mode)), plan.request_timeout_s
            )
        except TimeoutError:
            tally.errors["timeout"] += 1
            connection.close()
            continue
        except ResponseBroken as exc:
            tally.errors[str(exc)] += 1
            continue
        problem = _problem(exchange, plan.expected_answer_bytes)
        if problem is None:
            assert exchange.first_byte is not None
            tally.ttfb.append(exchange.first_byte)
            tally.total.append(exchange.total)
        else:
            tally.errors[problem] += 1
    if connection is not None:
        connection.close()


async def run_plan(plan: LoadPlan) -> LoadResult:
    request = post_request(
        host=plan.host,
        port=plan.port,
        path=plan.path,
        headers=plan.headers,
        body=plan.body.encode(),
    )
    # Every connection is open before the clock starts.
    connections = await asyncio.gather(*(_open(plan) for _ in range(plan.concurrency)))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    tally = _Tally(plan.requests)
    cpu_before, started = cpu_seconds([os.getpid()]), time.perf_counter()
    deadline = started + plan.time_limit_s
    await asyncio.gather(
        *(_worker(plan, request, connection, tally, deadline) for connection in connections)
    )
    finished = time.perf_counter()
    if tally.unsent:
        tally.errors["not sent: time limit"] += tally.unsent
    return LoadResult(
        started=started,
        finished=finished,
        ttfb_s=tally.ttfb,
        total_s=tally.total,
        errors=dict(tally.errors),
        cpu_s=cpu_seconds([os.getpid()]) - cpu_before,
    )


def main() -> None:
    plan = LoadPlan.model_validate_json(sys.argv[1])
    raise_fd_limit(plan.concurrency + 64)
    result = uvloop.run(run_plan(plan))
    sys.stdout.write(result.model_dump_json() + "\n")


if __name__ == "__main__":
    main()
