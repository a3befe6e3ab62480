"""``python -m bench.responsiveness``: does one heavy chat request stall everyone else?

Starts the fake upstream and `chatgate serve`, then sends the heaviest requests
chatgate accepts (the most messages, the most content parts, the most text, as
the chat body's bounds allow) and one far past them (a body at the size limit
made of one-letter messages, which must be refused without stalling anyone), to
the Anthropic route, whose conversion touches every message, and to the OpenAI
route, while another client asks for /healthz every 5 ms. It reports the
slowest /healthz answer during each request: the goal is under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.procfs import cpu_seconds
from bench.services import HOST, chatgate_env, create_user, free_port, run_cli, running
from chatgate.web.chat_body import MAX_CONTAINERS, MAX_MESSAGES, MAX_PARTS, MAX_TEXT

GOAL_MS = 100.0
POLL_INTERVAL_S = 0.005
MAX_BODY_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    build: Callable[[int], list[dict[str, Any]]]  # the messages, for a body budget in bytes


def tiny_messages(budget: int) -> list[dict[str, Any]]:
    """As many one-letter messages as fit: far past the bounds, refused with 400."""
    return [{"role": "user", "content": "x"} for _ in range(budget // 32)]


def most_messages(_budget: int) -> list[dict[str, Any]]:
    """The most messages accepted, sharing the most text accepted."""
    text = "x" * (MAX_TEXT // MAX_MESSAGES - 1)
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text}
        for i in range(MAX_MESSAGES)
    ]


def most_parts(_budget: int) -> list[dict[str, Any]]:
    """Messages of the most parts accepted, as many as the object bound allows."""
    count = (MAX_CONTAINERS - 100) // (MAX_PARTS + 2)
    text = "x" * (MAX_TEXT // (count * MAX_PARTS) - 1)
    parts = [{"type": "text", "text": text} for _ in range(MAX_PARTS)]
    return [{"role": "user", "content": parts} for _ in range(count)]


def one_long_text(_budget: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "word " * (MAX_TEXT // 5 - 1)}]


SHAPES = (
    Shape("tiny messages (refused)", tiny_messages),
    Shape("most messages", most_messages),
    Shape("most content parts", most_parts),
    Shape("one long text", one_long_text),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    route: str
    shape: str
    body_mb: float
    status: int
    request_s: float
    server_cpu_s: float
    health_max_ms: float
    health_p99_ms: float


async def poll_health(http: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with http.get(url) as response:
            await response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(POLL_INTERVAL_S)
    return latencies


async def heavy_request(
    http: aiohttp.ClientSession, *, url: str, token: str, body: bytes
) -> tuple[int, float]:
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with http.post(url, data=body, headers=headers) as response:
        await response.read()
        return response.status, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def measure_one(
    *, base_url: str, pid: int, token: str, route: str, shape: Shape, budget: int
) -> Outcome:
    model = "claude-3-5-sonnet-20241022" if route == "anthropic" else "gpt-4o"
    body = orjson.dumps(
        {"chatSettings": {"model": model, "temperature": 0.5}, "messages": shape.build(budget)}
    )
    timeout = aiohttp.ClientTimeout(total=120)
    async with (
        aiohttp.ClientSession(timeout=timeout) as heavy,
        aiohttp.ClientSession(timeout=timeout) as light,
    ):
        stop = asyncio.Event()
        poller = asyncio.create_task(poll_health(light, base_url + "/healthz", stop))
        await asyncio.sleep(0.2)  # the poller's connection is open and warm
        cpu_before = cpu_seconds([pid])
        status, seconds = await heavy_request(
            heavy, url=f"{base_url}/api/chat/{route}", token=token, body=body
        )
        server_cpu = cpu_seconds([pid]) - cpu_before
        stop.set()
        latencies = await poller
    return Outcome(
        route=route,
        shape=shape.name,
        body_mb=len(body) / 1024 / 1024,
        status=status,
        request_s=seconds,
        server_cpu_s=server_cpu,
        health_max_ms=max(latencies, default=0.0),
        health_p99_ms=percentile(latencies, 0.99),
    )


async def run(budget: int) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="chatgate-responsiveness-") as tmp:
        upstream_port, port = free_port(), free_port()
        env = chatgate_env(data_dir=Path(tmp) / "data", upstream_port=upstream_port)
        env["CHATGATE_ANTHROPIC_BASE_URL"] = f"http://{HOST}:{upstream_port}"
        env["CHATGATE_MAX_BODY_BYTES"] = str(MAX_BODY_BYTES)
        fake_args = ["fake-openai", "--host", HOST, "--port", str(upstream_port)]
        serve_args = ["serve", "--host", HOST, "--port", str(port)]
        async with (
            running(name="fake", args=fake_args, port=upstream_port, env=env, log_dir=Path(tmp)),
            running(name="chatgate", args=serve_args, port=port, env=env, log_dir=Path(tmp)) as cg,
        ):
            token = await create_user(username="heavy", api_key="sk-heavy", env=env)
            await run_cli(
                "profile",
                "set",
                "heavy",
                "--anthropic-api-key-stdin",
                env=env,
                stdin=b"sk-ant-heavy\n",
            )
            outcomes = []
            for route in ("anthropic", "openai"):
                for shape in SHAPES:
                    outcomes.append(
                        await measure_one(
                            base_url=f"http://{HOST}:{port}",
                            pid=cg.pid,
                            token=token,
                            route=route,
                            shape=shape,
                            budget=budget,
                        )
                    )
            return outcomes


def report(outcomes: list[Outcome]) -> str:
    lines = [
        f"{'route':<10} {'request':<24} {'body MB':>8} {'status':>6} {'took s':>7} "
        f"{'CPU s':>6} {'/healthz max ms':>16} {'p99 ms':>7}"
    ]
    for o in outcomes:
        lines.append(
            f"{o.route:<10} {o.shape:<24} {o.body_mb:>8.1f} {o.status:>6} {o.request_s:>7.2f} "
            f"{o.server_cpu_s:>6.2f} {o.health_max_ms:>16.1f} {o.health_p99_ms:>7.1f}"
        )
    worst = max(o.health_max_ms for o in outcomes)
    verdict = "met" if worst < GOAL_MS else "NOT met"
    lines.append(
        f"slowest /healthz during a heavy request: {worst:.1f} ms "
        f"(goal < {GOAL_MS:.0f} ms: {verdict})"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.responsiveness", description=__doc__)
    parser.add_argument(
        "--body-mb", type=float, default=19.5, help="size of each heavy body in MiB [19.5]"
    )
    args = parser.parse_args()
    outcomes = asyncio.run(run(int(args.body_mb * 1024 * 1024)))
    print(report(outcomes))
    sys.exit(0)


if __name__ == "__main__":
    main()
