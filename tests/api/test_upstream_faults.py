"""Upstream trouble as the client sees it: each fault a clear answer, and nothing left
behind. An answer cut off mid-stream on a real socket, and a client that leaves,
are in tests/e2e/test_faults.py (and every provider's cut-off answer in
test_providers.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.api.conftest import CHAT_PATH, Gate, OpenGate, auth, chat_body, eventually

SHORT_TIMEOUTS = {
    "upstream_first_byte_timeout": 1,
    "upstream_idle_timeout": 1,
    "upstream_connect_timeout": 1,
}


@pytest.fixture
async def fault_gate(open_gate: OpenGate) -> AsyncIterator[Gate]:
    """After the test: no answer streaming, no upstream stream open, no stray task."""
    async with open_gate(**SHORT_TIMEOUTS) as gate:
        tasks_before = gate.tasks()
        yield gate

        async def upstream_closed() -> bool:
            return (await gate.upstream.stats()).get("open", 0) == 0

        async def no_answer() -> bool:
            return await gate.metric("chatgate_active_answers") == 0

        async def no_stray_task() -> bool:
            return gate.tasks() <= tasks_before

        await eventually(upstream_closed, 2)
        await eventually(no_answer, 2)
        await eventually(no_stray_task, 2)


FAULTS = [
    # (directive, status, body): before the first byte, a JSON error
    ("status=400", 400, "Fake failure with status 400"),
    ("status=401", 401, "Fake failure with status 401"),  # a 401 that is not about the key
    (
        "status=401 code=invalid_api_key",
        401,
        "OpenAI API Key is incorrect. Please fix it in your profile settings.",
    ),
    ("status=403", 403, "Fake failure with status 403"),
    ("status=404", 404, "Fake failure with status 404"),
    ("status=429 retry_after=0", 429, "Fake failure with status 429"),
    ("status=500", 500, "Fake failure with status 500"),
    ("status=503", 503, "Fake failure with status 503"),
    ("first_byte_delay_ms=3000", 504, "OpenAI did not answer in time (no response)"),
]


@pytest.mark.parametrize(("directive", "status", "message"), FAULTS)
async def test_failure_before_the_answer(
    fault_gate: Gate, directive: str, status: int, message: str
) -> None:
    token = await fault_gate.create_user(openai_key="sk-faults-0400")
    body = chat_body(f"#fake {directive} tag={time.monotonic_ns()}")
    response = await fault_gate.client.post(CHAT_PATH, json=body, headers=auth(token))
    assert response.status_code == status
    assert response.json() == {"message": message}


async def read_answer(gate: Gate, token: str, body: object, *, into: list[str]) -> None:
    """Read an answer, collecting its text (kept if the stream breaks)."""
    async with gate.client.stream("POST", CHAT_PATH, json=body, headers=auth(token)) as response:
        assert response.status_code == 200
        async for text in response.aiter_text():
            into.append(text)


async def test_an_answer_trickling_a_byte_at_a_time_arrives_whole(fault_gate: Gate) -> None:
    token = await fault_gate.create_user(openai_key="sk-faults-0402")
    received: list[str] = []
    await read_answer(fault_gate, token, chat_body("#fake trickle=1 chunks=4"), into=received)
    assert "".join(received) == "".join(reply_pieces(4))


IMPATIENT = {"upstream_first_byte_timeout": 0.5, "upstream_idle_timeout": 0.5}


async def test_slow_upstream_times_out_with_504(open_gate: OpenGate) -> None:
    async with open_gate(**IMPATIENT) as gate:
        token = await gate.create_user(openai_key="sk-slow-0102")
        body = chat_body(f"#fake first_byte_delay_ms=3000 tag={time.monotonic_ns()}")
        response = await gate.client.post(CHAT_PATH, json=body, headers=auth(token))
    assert response.status_code == 504
    assert response.json()["message"].startswith("OpenAI did not answer in time")


async def test_stalled_answer_is_cut_off(open_gate: OpenGate) -> None:
    async with open_gate(**IMPATIENT) as gate:
        token = await gate.create_user(openai_key="sk-stall-0103")
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            await read_answer(gate, token, chat_body("#fake stall_after=2"), into=[])
        assert time.monotonic() - started < 5


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_upstream_is_a_502(open_gate: OpenGate) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}/v1"
    async with open_gate(openai_base_url=nowhere, upstream_max_retries=1) as gate:
        token = await gate.create_user(openai_key="sk-nowhere-0104")
        response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
    assert response.status_code == 502
    assert response.json() == {"message": "OpenAI could not be reached"}
