"""The benchmark's Node reference (bench/node_reference/server.mjs) as a real process
in front of the fake upstream: it must answer as Chatbot UI's original route does,
or the ratios `make bench` reports compare chatgate with something else.

Its packages come from the benchmark's cache, installed from the npm registry on
first use (a few seconds). Without Node.js and npm this test fails rather than
skips: the benchmark would silently fall back to quoted figures."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bench.node_route import NodeUnavailable, install, node_env
from bench.services import HOST, chatgate_env, free_port, running, running_command
from chatgate.fake import reply_pieces

TOKEN, API_KEY = "bench-token", "sk-bench"


@dataclass(frozen=True, slots=True)
class NodeStack:
    node_url: str
    fake_url: str


# One fake upstream and one Node server for the module: starting them takes seconds.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NodeStack]:
    tmp_path = tmp_path_factory.mktemp("node-reference")
    try:
        route = await install()
    except NodeUnavailable as exc:
        pytest.fail(f"the benchmark's Node reference cannot run here: {exc} (needs Node.js 18+)")
    fake_port, node_port = free_port(), free_port()
    base = chatgate_env(data_dir=tmp_path, upstream_port=fake_port)
    fake_args = ["fake-openai", "--host", HOST, "--port", str(fake_port)]
    env = node_env(base=base, host=HOST, port=node_port, token=TOKEN, api_key=API_KEY)
    async with (
        running(name="fake", args=fake_args, port=fake_port, env=base, log_dir=tmp_path),
        running_command(
            name="node", command=route.command(), port=node_port, env=env, log_dir=tmp_path
        ),
    ):
        yield NodeStack(
            node_url=f"http://{HOST}:{node_port}", fake_url=f"http://{HOST}:{fake_port}"
        )


def chat(content: str, model: str = "gpt-4o") -> dict[str, Any]:
    return {
        "chatSettings": {"model": model, "temperature": 0.3},
        "messages": [{"role": "user", "content": content}],
    }


async def upstream_requests(client: httpx.AsyncClient, stack: NodeStack) -> list[Any]:
    """What the fake upstream received since the last call."""
    answer = await client.get(f"{stack.fake_url}/_fake/requests")
    await client.delete(f"{stack.fake_url}/_fake/requests")
    requests: list[Any] = answer.json()
    return requests


async def test_streams_the_answer_text_as_the_original_route(stack: NodeStack) -> None:
    body = chat("Hello\n#fake chunks=20 delay_ms=25")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=30) as client:
        await upstream_requests(client, stack)
        sent = time.perf_counter()
        async with client.stream(
            "POST", f"{stack.node_url}/api/chat/openai", json=body, headers=headers
        ) as answer:
            pieces = [piece async for piece in answer.aiter_text()]
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert "".join(pieces) == "".join(reply_pieces(20))
        [upstream] = await upstream_requests(client, stack)
    assert time.perf_counter() - sent >= 0.4  # 20 chunks 25 ms apart: it waited for them
    assert upstream["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert upstream["body"]["stream"] is True
    assert upstream["body"]["temperature"] == 0.3
    assert upstream["body"]["max_tokens"] == 4096  # gpt-4o, as in the original


async def test_the_first_text_arrives_before_the_answer_ends(stack: NodeStack) -> None:
    body = chat("Hello\n#fake chunks=10 delay_ms=100")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=30) as client:
        sent = time.perf_counter()
        async with client.stream(
            "POST", f"{stack.node_url}/api/chat/openai", json=body, headers=headers
        ) as answer:
            text = answer.aiter_text()
            first = await anext(text)
            first_at = time.perf_counter() - sent
            rest = "".join([piece async for piece in text])
        total = time.perf_counter() - sent
    assert first + rest == "".join(reply_pieces(10))
    assert first_at < total - 0.5  # about 0.9 s of the answer came after the first text


async def test_other_models_ask_for_no_max_tokens(stack: NodeStack) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=30) as client:
        await upstream_requests(client, stack)
        answer = await client.post(
            f"{stack.node_url}/api/chat/openai",
            json=chat("Hello\n#fake chunks=3", model="gpt-3.5-turbo"),
            headers=headers,
        )
        [upstream] = await upstream_requests(client, stack)
    assert answer.text == "".join(reply_pieces(3))
    assert upstream["body"]["max_tokens"] is None


async def test_errors_are_a_json_message_with_the_status(stack: NodeStack) -> None:
    url = f"{stack.node_url}/api/chat/openai"
    async with httpx.AsyncClient(timeout=30) as client:
        stranger = await client.post(
            url, json=chat("Hello"), headers={"Authorization": "Bearer someone-else"}
        )
        refused = await client.post(
            url,
            json=chat("Hello\n#fake status=401"),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert (stranger.status_code, stranger.json()) == (500, {"message": "User not found"})
    assert refused.status_code == 401
    assert refused.json() == {"message": "401 Fake failure with status 401"}
