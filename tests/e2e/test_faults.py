"""Faults a real server survives: an answer cut off on the socket, a client that
leaves, a database that goes away; and nothing left behind.

What the client receives for each upstream fault is tested in-process:
tests/api/test_upstream_faults.py."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import (
    CHAT_PATH,
    Server,
    Upstream,
    chat_body,
    postgres_database,
    read_answer,
    serving,
)
from tests.e2e.proxy import TcpProxy

SHORT_TIMEOUTS = {
    "CHATGATE_UPSTREAM_FIRST_BYTE_TIMEOUT": "1",
    "CHATGATE_UPSTREAM_IDLE_TIMEOUT": "1",
    "CHATGATE_UPSTREAM_CONNECT_TIMEOUT": "1",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def metric(server: Server, name: str) -> float:
    text = httpx.get(server.base_url + "/metrics").text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, f"{name} missing from /metrics"
    return float(found.group(1))


def eventually(check: object, seconds: float = 1.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def fault_server(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("faults")
    with serving(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", SHORT_TIMEOUTS) as server:
        yield server


@pytest.fixture
def nothing_left_behind(fault_server: Server, upstream: Upstream) -> Iterator[None]:
    """After the test: no answer streaming, no upstream stream open, no stray task."""
    tasks_before = metric(fault_server, "chatgate_event_loop_tasks")
    yield
    eventually(lambda: upstream.stats().get("open", 0) == 0, 2)
    eventually(lambda: metric(fault_server, "chatgate_active_answers") == 0, 2)
    eventually(lambda: metric(fault_server, "chatgate_event_loop_tasks") <= tasks_before, 2)


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize(
    "directive", ["fail_after=2", "error_after=2", "malformed_after=2", "stall_after=2"]
)
def test_failure_mid_answer_cuts_the_stream(fault_server: Server, directive: str) -> None:
    token = fault_server.create_user(openai_key="sk-faults-0401")
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        read_answer(fault_server, token, chat_body(f"#fake {directive}"), into=received)
    assert "".join(received) == "".join(reply_pieces(2))


def abandon(server: Server, token: str, body: object, *, after: float) -> None:
    """Send a chat request over a raw socket and hang up ``after`` seconds later."""
    payload = json.dumps(body).encode()
    host, port = urlsplit(server.base_url).hostname, urlsplit(server.base_url).port
    with socket.create_connection((host or "127.0.0.1", port or 80)) as sock:
        sock.sendall(
            f"POST {CHAT_PATH} HTTP/1.1\r\nHost: chatgate\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        time.sleep(after)


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize(
    ("directive", "leave_after"),
    [
        ("first_byte_delay_ms=800", 0.3),  # while the upstream thinks
        ("chunks=100 delay_ms=100", 0.5),  # mid-answer
    ],
)
def test_client_leaving_closes_the_upstream_within_a_second(
    fault_server: Server, upstream: Upstream, directive: str, leave_after: float
) -> None:
    token = fault_server.create_user(openai_key="sk-faults-0403")
    gone_before = upstream.stats().get("client_gone", 0)
    abandon(fault_server, token, chat_body(f"#fake {directive}"), after=leave_after)
    left_at = time.monotonic()
    eventually(lambda: upstream.stats().get("client_gone", 0) > gone_before, 1.0)
    assert time.monotonic() - left_at <= 1.0


@pytest.mark.postgres
def test_database_outage_is_a_503_and_recovers_by_itself(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    database = postgres_database()
    url = next(database)
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    proxied = url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    try:
        with serving(tmp_path_factory.mktemp("outage"), upstream, proxied, {}) as server:
            regular = server.create_user(openai_key="sk-outage-0404")
            newcomer = server.create_user(openai_key="sk-outage-0405")

            def chat(token: str) -> httpx.Response:
                return httpx.post(
                    server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token), timeout=30
                )

            assert chat(regular).status_code == 200
            proxy.cut()
            for path in ("/readyz", "/api/profile"):
                response = httpx.get(server.base_url + path, headers=auth(regular), timeout=30)
                assert response.status_code == 503
                assert response.json() == {
                    "message": "The database is unavailable; try again shortly"
                }
            assert chat(newcomer).status_code == 503
            # Seen a moment ago, the regular keeps chatting from the identity cache.
            assert chat(regular).status_code == 200
            assert httpx.get(server.base_url + "/healthz").status_code == 200
            proxy.start()
            eventually(
                lambda: httpx.get(server.base_url + "/readyz", timeout=30).status_code == 200, 10
            )
            assert chat(newcomer).status_code == 200
    finally:
        proxy.close()
        next(database, None)
