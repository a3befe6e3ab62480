"""Clients that send too much, against a real `chatgate serve` whose memory and
descriptors are watched: what a deployment would see."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import CHAT_PATH, Server, Upstream, serving
from tests.e2e.watch import watching

HUGE = 400 * 1024 * 1024
CHUNK = b"x" * 65536


@pytest.fixture(scope="module")
def watched_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hostile-clients")
    extra = {"CHATGATE_MAX_BODY_BYTES": str(20 * 1024 * 1024)}  # the default
    with serving(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", extra) as server:
        # The first requests open the database and warm the caches: not what is measured.
        httpx.get(server.base_url + "/api/profile", headers={"Authorization": "Bearer cg_x"})
        yield server


def port_of(server: Server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def send_until_answered(sock: socket.socket, *, chunk: bytes, most: int) -> bytes:
    """Keep sending ``chunk`` until the server answers (or ``most`` bytes went out)."""
    sock.setblocking(False)
    sent = 0
    while sent < most:
        try:
            answer = sock.recv(65536)
        except BlockingIOError:
            answer = b""
        except ConnectionResetError:
            return b""
        if answer:
            return answer
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.settimeout(5)
    try:
        return sock.recv(65536)
    except OSError:
        return b""


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_strangers_huge_body_is_refused_unread(watched_server: Server, framing: str) -> None:
    length = (
        f"Content-Length: {HUGE}\r\n"
        if framing == "content-length"
        else "Transfer-Encoding: chunked\r\n"
    )
    head = (
        f"PATCH /api/profile HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{length}\r\n"
    ).encode()
    chunk = CHUNK if framing == "content-length" else b"10000\r\n" + CHUNK + b"\r\n"
    started = time.monotonic()
    with (
        watching(watched_server.process.pid) as watched,
        socket.create_connection(("127.0.0.1", port_of(watched_server))) as sock,
    ):
        sock.sendall(head)
        answer = send_until_answered(sock, chunk=chunk, most=HUGE)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert time.monotonic() - started < 5
    assert watched.growth_mb < 20, f"grew by {watched.growth_mb:.0f} MB"
    assert watched.descriptors_settle()


def test_a_json_body_over_its_limit_is_refused_on_its_length(watched_server: Server) -> None:
    token = watched_server.create_user()
    with watching(watched_server.process.pid) as watched:
        response = httpx.patch(
            watched_server.base_url + "/api/profile",
            content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert "65536 bytes" in response.json()["message"]
    assert watched.growth_mb < 20, f"grew by {watched.growth_mb:.0f} MB"


def test_a_chat_body_of_tiny_objects_is_refused_without_parsing_it(
    watched_server: Server,
) -> None:
    token = watched_server.create_user(openai_key="sk-hostile-0001")
    tiny = b'{"role":"user","content":"x"},' * 110_000
    body = (
        b'{"chatSettings":{"model":"gpt-4o"},"messages":['
        + tiny
        + b'{"role":"user","content":"x"}]}'
    )
    with watching(watched_server.process.pid) as watched:
        started = time.monotonic()
        response = httpx.post(
            watched_server.base_url + CHAT_PATH,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
        took = time.monotonic() - started
    assert response.status_code == 400
    assert "JSON objects and arrays are accepted" in response.json()["message"]
    # The body is held while it is read, but never turned into 110,000 objects.
    assert watched.growth_mb < 3 * len(body) / 1024 / 1024 + 10, f"{watched.growth_mb:.0f} MB"
    assert took < 5
    assert watched.descriptors_settle()
