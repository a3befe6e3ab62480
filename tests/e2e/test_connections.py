"""Connections that never finish a request: held for a bounded time, never
enough of them to lock other users out, even under a low open-file limit."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from tests.e2e.conftest import (
    CHAT_PATH,
    Server,
    Upstream,
    base_env,
    free_port,
    stop,
    wait_for,
)

OPEN_FILE_LIMIT = 256


@contextmanager
def limited_server(tmp: Path, upstream: Upstream, extra: dict[str, str]) -> Iterator[Server]:
    """`chatgate serve` whose hard open-file limit is 256, so it cannot raise it."""
    port = free_port()
    database_url = f"sqlite:///{tmp / 'chatgate.db'}"
    env = base_env(tmp, upstream, database_url, extra)
    log = tmp / "serve.log"
    base_url = f"http://127.0.0.1:{port}"

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILE_LIMIT, OPEN_FILE_LIMIT))

    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatgate", "serve", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=low_limit,
        )
    try:
        wait_for(base_url + "/healthz", process, log)
        yield Server(base_url, env, log, tmp / "data", database_url, process)
    finally:
        stop(process)


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect(port: int, payload: bytes, stack: ExitStack) -> socket.socket:
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
    if payload:
        sock.sendall(payload)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed the connection (whatever it said first)."""
    sock.settimeout(0.2)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def chat(server: Server, token: str) -> httpx.Response:
    body = {"chatSettings": {"model": "gpt-4o"}, "messages": [{"role": "user", "content": "Hi"}]}
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(server.base_url + CHAT_PATH, json=body, headers=headers, timeout=10)


def port_of(server: Server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def test_half_sent_requests_are_dropped_and_never_lock_others_out(
    upstream: Upstream, tmp_path: Path
) -> None:
    extra = {"CHATGATE_HEADER_TIMEOUT": "2", "CHATGATE_BODY_TIMEOUT": "3"}
    with limited_server(tmp_path, upstream, extra) as server, ExitStack() as stack:
        token = server.create_user(openai_key="sk-conn-test-0001")
        port, pid = port_of(server), server.process.pid
        assert chat(server, token).status_code == 200  # opens the database and upstream pools
        idle_files = open_files(pid)
        half_body = (
            f"POST {CHAT_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            '{"chatSettings": {"model": '
        ).encode()
        sockets = [connect(port, b"", stack) for _ in range(100)]
        sockets += [connect(port, b"GET /healthz HTTP/1.1\r\nHost:", stack) for _ in range(100)]
        sockets += [connect(port, half_body, stack) for _ in range(100)]

        # 300 stuck connections with 256 descriptors: others still get through.
        started = time.monotonic()
        assert httpx.get(server.base_url + "/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 5

        # Each stuck connection is closed once its deadline passes.
        assert wait_until(lambda: all(closed_by_server(s) for s in sockets), 10)
        assert wait_until(lambda: open_files(pid) <= idle_files + 2, 5), open_files(pid)
        response = chat(server, token)
        assert response.status_code == 200


def test_connections_past_the_limit_are_refused_with_503(
    upstream: Upstream, tmp_path: Path
) -> None:
    extra = {"CHATGATE_MAX_CONNECTIONS": "20", "CHATGATE_BODY_TIMEOUT": "30"}
    with limited_server(tmp_path, upstream, extra) as server, ExitStack() as stack:
        token = server.create_user(openai_key="sk-conn-test-0002")
        port = port_of(server)
        body = (
            '{"chatSettings": {"model": "gpt-4o"}, "messages": '
            '[{"role": "user", "content": "#fake delay_ms=1000"}]}'
        )
        busy = (
            f"POST {CHAT_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        # Answers under way are never evicted: the newcomer is refused.
        for _ in range(20):
            connect(port, busy, stack)
        time.sleep(0.3)
        newcomer = connect(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", stack)
        answer = b""
        newcomer.settimeout(5)
        while chunk := newcomer.recv(65536):
            answer += chunk
        head, _, refusal = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503"), answer
        assert b"connection limit" in refusal
