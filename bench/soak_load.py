"""The soak's load generator, run as its own process: ``python -m bench.soak_load PLAN``.

It prints ``ready``, waits for a line on standard input, then holds
``concurrency`` streams for ``duration_s``: each worker starts within the
ramp-up and sends one request after another on a keep-alive connection (a new
one once the last was closed), each shaped by the fault mix. No request starts
after the duration; those in flight finish, each within its timeout. It prints
one SoakLoadResult as JSON.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter, defaultdict

import uvloop
from pydantic import BaseModel

from bench.bodies import chat_body, expected_answer_bytes
from bench.client import (
    Connection,
    Exchange,
    ResponseBroken,
    TextAnswer,
    bearer,
    connect,
    post_request,
)
from bench.fdlimit import raise_fd_limit
from bench.procfs import cpu_seconds
from bench.soak_mix import Fault, Outcome, assign_fault, directive, outcome

CONNECT_RETRY_PAUSE_S = 0.1


class SoakPlan(BaseModel):
    host: str
    port: int
    path: str
    token: str
    concurrency: int
    duration_s: float
    ramp_s: float  # the workers' first requests are spread over this
    chunks: int
    delay_ms: int
    request_timeout_s: float


class SoakLoadResult(BaseModel):
    started: float  # time.perf_counter() at the go signal
    finished: float
    outcomes: dict[str, dict[str, int]]  # fault -> what the client saw -> requests
    ttfb_s: list[float]  # every request whose answer started: status 200 and text arrived
    cpu_s: float  # the load generator's own CPU time under load


class _Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.outcomes: defaultdict[Fault, Counter[str]] = defaultdict(Counter)
        self.ttfb: list[float] = []

    def next_index(self) -> int:
        self.sent += 1
        return self.sent - 1

    def record(self, fault: Fault, seen: str, exchange: Exchange | None) -> None:
        self.outcomes[fault][seen] += 1
        if exchange is not None and exchange.status == 200 and exchange.first_byte is not None:
            self.ttfb.append(exchange.first_byte)


async def _open(plan: SoakPlan) -> Connection | None:
    try:
        return await asyncio.wait_for(connect(plan.host, plan.port), plan.request_timeout_s)
    except (OSError, TimeoutError):
        return None


async def _send(
    connection: Connection, *, plan: SoakPlan, fault: Fault, index: int
) -> tuple[str, Exchange | None]:
    line = directive(fault, index=index, chunks=plan.chunks, delay_ms=plan.delay_ms)
    request = post_request(
        host=plan.host,
        port=plan.port,
        path=plan.path,
        headers=bearer(plan.token),
        body=chat_body(line).encode(),
    )
    try:
        exchange = await asyncio.wait_for(
            connection.exchange(
                request, TextAnswer(), abandon_at_first_byte=fault is Fault.ABANDONED
            ),
            plan.request_timeout_s,
        )
    except TimeoutError:
        connection.close()
        return Outcome.TIMEOUT.value, None
    except ResponseBroken as exc:
        exchange = exc.partial
    return outcome(exchange, expected_answer_bytes(plan.chunks)), exchange


async def _worker(plan: SoakPlan, *, tally: _Tally, start_after_s: float, deadline: float) -> None:
    await asyncio.sleep(start_after_s)
    connection: Connection | None = None
    while time.perf_counter() < deadline:
        index = tally.next_index()
        fault = assign_fault(index)
        if connection is None or connection.closed or not connection.keep_alive:
            if connection is not None:
                connection.close()
            connection = await _open(plan)
            if connection is None:
                tally.record(fault, Outcome.CANNOT_CONNECT.value, None)
                await asyncio.sleep(CONNECT_RETRY_PAUSE_S)
                continue
        seen, exchange = await _send(connection, plan=plan, fault=fault, index=index)
        tally.record(fault, seen, exchange)
    if connection is not None:
        connection.close()


async def run_soak_load(plan: SoakPlan) -> SoakLoadResult:
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    tally = _Tally()
    me = [os.getpid()]
    cpu_before, started = cpu_seconds(me), time.perf_counter()
    deadline = started + plan.duration_s
    await asyncio.gather(
        *(
            _worker(
                plan,
                tally=tally,
                start_after_s=plan.ramp_s * worker / plan.concurrency,
                deadline=deadline,
            )
            for worker in range(plan.concurrency)
        )
    )
    return SoakLoadResult(
        started=started,
        finished=time.perf_counter(),
        outcomes={fault.value: dict(seen) for fault, seen in tally.outcomes.items()},
        ttfb_s=tally.ttfb,
        cpu_s=cpu_seconds(me) - cpu_before,
    )


def main() -> None:
    plan = SoakPlan.model_validate_json(sys.argv[1])
    raise_fd_limit(plan.concurrency + 64)
    result = uvloop.run(run_soak_load(plan))
    sys.stdout.write(result.model_dump_json() + "\n")


if __name__ == "__main__":
    main()
