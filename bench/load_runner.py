"""Driving load generator processes: start them, wait until each has its
connections open, let them go together, and merge what they found."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from pydantic import BaseModel

from bench.loadgen import LoadPlan, LoadResult

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0

Result = TypeVar("Result", bound=BaseModel)


class LoadFailed(Exception):
    pass


def _share(total: int, index: int, parts: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def split_plan(plan: LoadPlan, processes: int) -> list[LoadPlan]:
    """The plan's requests and connections, shared out between processes."""
    return [
        plan.model_copy(
            update={
                "requests": _share(plan.requests, index, processes),
                "concurrency": _share(plan.concurrency, index, processes),
            }
        )
        for index in range(processes)
    ]


def merge_results(results: list[LoadResult]) -> LoadResult:
    errors: dict[str, int] = {}
    for result in results:
        for reason, count in result.errors.items():
            errors[reason] = errors.get(reason, 0) + count
    return LoadResult(
        started=min(r.started for r in results),
        finished=max(r.finished for r in results),
        ttfb_s=[t for r in results for t in r.ttfb_s],
        total_s=[t for r in results for t in r.total_s],
        errors=errors,
        cpu_s=sum(r.cpu_s for r in results),
    )


class LoadProcesses(Generic[Result]):
    """``async with LoadProcesses(plans, module=..., result=...) as load``:
    ``await load.ready()``, then ``await load.run()``, each process's result.
    ``module`` is run as ``python -m module PLAN``: it prints ``ready``, waits
    for a line on standard input, then prints its result as JSON. Leaving the
    block kills any process still running."""

    def __init__(self, plans: Sequence[BaseModel], *, module: str, result: type[Result]) -> None:
        self._plans = plans
        self._module = module
        self._result_type = result
        self._processes: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> LoadProcesses[Result]:
        for plan in self._plans:
            self._processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    self._module,
                    plan.model_dump_json(),
                    cwd=ROOT,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for process in self._processes:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def ready(self) -> None:
        for process in self._processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_S)
            if line.strip() != b"ready":
                raise LoadFailed(f"load generator {process.pid} did not start")

    async def run(self, timeout_s: float) -> list[Result]:
        for process in self._processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
            process.stdin.close()
        return await asyncio.wait_for(
            asyncio.gather(*(self._result(p) for p in self._processes)), timeout_s
        )

    async def _result(self, process: asyncio.subprocess.Process) -> Result:
        assert process.stdout is not None
        output = await process.stdout.read()
        if await process.wait() != 0:
            raise LoadFailed(f"load generator {process.pid} exited with {process.returncode}")
        return self._result_type.model_validate_json(output)
