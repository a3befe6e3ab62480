"""The processes under test: chatgate's fake OpenAI upstream, `chatgate serve` and
the Node reference, each on a free loopback port, each stopped (its whole process
group) on the way out."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from chatgate.settings import PROVIDER_ENV_VARS

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
CLI_TIMEOUT_S = 60.0


class ServiceFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    pid: int
    port: int
    log_path: Path  # its standard output and error


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def chatgate_env(*, data_dir: Path, upstream_port: int) -> dict[str, str]:
    """The environment of every chatgate process: a private data directory, the fake
    upstream, and no server-wide provider keys or settings from the caller's shell."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CHATGATE_") and name not in PROVIDER_ENV_VARS
    }
    env.update(
        CHATGATE_DATA_DIR=str(data_dir),
        CHATGATE_SECRET_KEY=os.urandom(24).hex(),
        OPENAI_BASE_URL=f"http://{HOST}:{upstream_port}/v1",
    )
    return env


def chatgate_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chatgate", *args]


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def _wait_until_listening(
    process: asyncio.subprocess.Process, port: int, log_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while loop.time() < deadline:
        if process.returncode is not None:
            raise ServiceFailed(f"exited with status {process.returncode}:\n{_log_tail(log_path)}")
        try:
            _reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise ServiceFailed(f"not listening after {START_TIMEOUT_S:.0f} s:\n{_log_tail(log_path)}")


def _signal_group(leader: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(leader, sig)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the process group the service leads, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is None:
            _signal_group(process.pid, sig)
            with suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    # Whatever of the group outlived its leader (a uvicorn worker, say).
    _signal_group(process.pid, signal.SIGKILL)


@asynccontextmanager
async def running(
    *, name: str, args: list[str], port: int, env: Mapping[str, str], log_dir: Path
) -> AsyncIterator[Service]:
    """A chatgate command serving on ``port``, for the duration of the block."""
    command = chatgate_command(*args)
    async with running_command(
        name=name, command=command, port=port, env=env, log_dir=log_dir
    ) as service:
        yield service


@asynccontextmanager
async def running_command(
    *, name: str, command: list[str], port: int, env: Mapping[str, str], log_dir: Path
) -> AsyncIterator[Service]:
    """Any server command serving on ``port``, for the duration of the block."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            try:
                await _wait_until_listening(process, port, log_path)
            except ServiceFailed as exc:
                raise ServiceFailed(f"{name}: {exc}") from None
            yield Service(name=name, pid=process.pid, port=port, log_path=log_path)
        finally:
            await _stop(process)


async def run_cli(*args: str, env: Mapping[str, str], stdin: bytes = b"") -> str:
    """Run a chatgate command to completion; its standard output."""
    process = await asyncio.create_subprocess_exec(
        *chatgate_command(*args),
        env=dict(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), CLI_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise ServiceFailed(f"chatgate {' '.join(args)}: {err.decode(errors='replace')}")
    return out.decode()


async def create_user(*, username: str, api_key: str, env: Mapping[str, str]) -> str:
    """A user whose profile holds ``api_key``; the user's access token."""
    created = await run_cli("user", "create", username, env=env)
    token = created.strip().splitlines()[-1]
    await run_cli(
        "profile",
        "set",
        username,
        "--openai-api-key-stdin",
        env=env,
        stdin=api_key.encode() + b"\n",
    )
    return token
