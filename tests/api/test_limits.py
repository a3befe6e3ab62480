"""What an operator sets for everyone: per-minute and concurrent limits, and CORS."""

from __future__ import annotations

import asyncio

import httpx

from chatgate.fake import reply_pieces
from tests.api.conftest import CHAT_PATH, OpenGate, auth, chat_body, eventually

LIMITED = {
    "rate_limit_per_minute": 3,
    "max_streams_per_user": 1,
    "cors_origins": ["https://chat.example.com"],
}


async def test_requests_over_the_per_minute_limit_get_429(open_gate: OpenGate) -> None:
    async with open_gate(**LIMITED) as gate:
        token = await gate.create_user(openai_key="sk-limited-0200")

        async def four_requests() -> list[httpx.Response]:
            return [
                await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
                for _ in range(4)
            ]

        responses = await four_requests()
        if [r.status_code for r in responses[:3]] != [200, 200, 200]:
            responses = await four_requests()  # the minute turned over mid-test: once more
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        response = responses[-1]
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert response.json()["message"].startswith("Rate limit reached: 3 chat requests a minute")
        other = await gate.create_user(openai_key="sk-limited-other-0201")
        response = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(other))
        assert response.status_code == 200


async def test_a_second_answer_at_once_is_refused(open_gate: OpenGate) -> None:
    async with open_gate(**LIMITED) as gate:
        token = await gate.create_user(openai_key="sk-one-stream-0202")
        first = asyncio.create_task(
            gate.client.post(
                CHAT_PATH, json=chat_body("#fake chunks=4 delay_ms=300"), headers=auth(token)
            )
        )

        async def first_is_streaming() -> bool:
            return (await gate.upstream.stats()).get("open", 0) == 1

        await eventually(first_is_streaming, 5)
        second = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
        assert second.status_code == 429
        assert second.json()["message"].startswith("Too many answers at once")
        answer = await first
        assert answer.status_code == 200
        assert answer.text == "".join(reply_pieces(4))
        after = await gate.client.post(CHAT_PATH, json=chat_body(), headers=auth(token))
        assert after.status_code == 200


async def test_cors_allows_only_configured_origins(open_gate: OpenGate) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    async with open_gate(**LIMITED) as gate:
        allowed = await gate.client.options(
            CHAT_PATH, headers={"Origin": "https://chat.example.com", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://chat.example.com"
        stranger = await gate.client.options(
            CHAT_PATH, headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in stranger.headers
    async with open_gate() as closed_gate:
        closed = await closed_gate.client.get(
            "/healthz", headers={"Origin": "https://chat.example.com"}
        )
        assert "access-control-allow-origin" not in closed.headers
