"""The fake upstream is as lenient, and misbehaves as faithfully, as tests need."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from chatgate.fake import create_fake_app


@pytest.fixture
async def fake() -> AsyncIterator[TestServer]:
    server = TestServer(create_fake_app(chunks=3))
    await server.start_server()
    yield server
    await server.close()


def messages(text: str = "Hello") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_azure_takes_the_deployment_from_the_path_and_needs_no_model(
    fake: TestServer,
) -> None:
    url = fake.make_url("/openai/deployments/team-4o/chat/completions?api-version=2024-10-21")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url, json={"messages": messages(), "stream": True}, headers={"api-key": "k"}
        ) as response,
    ):
        body = await response.text()
    assert response.status == 200
    assert '"model":"team-4o"' in body
    assert body.endswith("data: [DONE]\n\n")


async def chat(fake: TestServer, directive: str) -> tuple[int, dict[str, str], str]:
    body = {"model": "gpt-4o", "messages": messages(f"#fake {directive}"), "stream": True}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            fake.make_url("/v1/chat/completions"),
            json=body,
            headers={"Authorization": "Bearer k"},
            allow_redirects=False,
        ) as response,
    ):
        return response.status, dict(response.headers), await response.text()


async def test_no_end_closes_the_answer_without_its_end(fake: TestServer) -> None:
    status, _, body = await chat(fake, "no_end=1")
    assert status == 200
    assert "This " in body
    assert 'finish_reason":"stop' not in body
    assert "[DONE]" not in body


async def test_keepalives_fill_the_wait_before_the_first_text(fake: TestServer) -> None:
    _, _, body = await chat(fake, "first_byte_delay_ms=300 keepalive_ms=100")
    assert body.startswith(": keep-alive\n\n: keep-alive\n\n")
    assert body.endswith("data: [DONE]\n\n")


async def test_redirect_answers_with_the_location_asked_for(fake: TestServer) -> None:
    status, headers, _ = await chat(fake, "redirect=file:///etc/passwd redirect_status=303")
    assert (status, headers["Location"]) == (303, "file:///etc/passwd")


async def test_several_choices_stream_as_openai_streams_them(fake: TestServer) -> None:
    body = {"model": "gpt-4o", "messages": messages("#fake finish=length"), "stream": True, "n": 2}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            fake.make_url("/v1/chat/completions"), json=body, headers={"Authorization": "Bearer k"}
        ) as response,
    ):
        text = await response.text()
    events = [json.loads(line[6:]) for line in text.split("\n\n") if line.startswith("data: {")]
    steps = [
        (choice["index"], choice["delta"].get("content"), choice["finish_reason"])
        for event in events
        for choice in event["choices"]
    ]
    assert all(len(event["choices"]) <= 1 for event in events)
    # The opening role, three words, the finish: every step once for each choice.
    assert steps == [
        (0, "", None),
        (1, "", None),
        (0, "This ", None),
        (1, "is ", None),
        (0, "is ", None),
        (1, "a ", None),
        (0, "a ", None),
        (1, "streamed ", None),
        (0, None, "length"),
        (1, None, "length"),
    ]
    assert events[-1]["usage"]["completion_tokens"] == 18
