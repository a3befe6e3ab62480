"""/v1 from a real server, through the official openai SDK (sync): answers
stream as they arrive, and a client that goes away stops the provider's stream."""

from __future__ import annotations

import time

import openai
import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import Server, Upstream

KEYS = {
    "openai_key": "sk-e2e-v1-0001",
    "anthropic_api_key": "sk-ant-e2e-v1-0002",
    "google_gemini_api_key": "gem-e2e-v1-0003",
}
MODELS = ("openai/gpt-4o", "anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash")


def client_for(server: Server, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=token, max_retries=0)


def test_models_and_an_answer_without_streaming(sqlite_server: Server) -> None:
    token = sqlite_server.create_user(**KEYS)
    client = client_for(sqlite_server, token)
    ids = {model.id for model in client.models.list()}
    assert set(MODELS) <= ids
    answer = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello"}]
    )
    assert answer.choices[0].message.content == "".join(reply_pieces(12))
    with pytest.raises(openai.AuthenticationError):
        client_for(sqlite_server, "cg_wrong").models.list()


@pytest.mark.parametrize("model", MODELS)
def test_answer_streams_as_it_arrives(sqlite_server: Server, model: str) -> None:
    token = sqlite_server.create_user(**KEYS)
    stream = client_for(sqlite_server, token).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "#fake chunks=5 delay_ms=150"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    arrivals: list[float] = []
    text = []
    usage = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
            text.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert "".join(text) == "".join(reply_pieces(5))
    # Five pieces 150 ms apart: the first arrives well before the last.
    assert arrivals[-1] - arrivals[0] > 0.45
    assert usage is not None
    assert usage.total_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_a_stream_ends_with_the_answers_end_not_the_upstreams_connection(
    sqlite_server: Server, model: str
) -> None:
    # The provider sends its end event, then takes its time to end the response.
    token = sqlite_server.create_user(**KEYS)
    started = time.monotonic()
    stream = client_for(sqlite_server, token).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "#fake chunks=5 linger_ms=1500"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert time.monotonic() - started < 1.0  # [DONE] came with the end, not 1.5 s later
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(reply_pieces(5))
    assert chunks[-1].usage is not None


def test_the_usage_chunk_after_the_finish_is_relayed_before_the_end(sqlite_server: Server) -> None:
    # Byte by byte, the finish chunk, the usage chunk and [DONE] each arrive on their own.
    token = sqlite_server.create_user(**KEYS)
    stream = client_for(sqlite_server, token).chat.completions.create(
        model="openai/gpt-4o",
        messages=[{"role": "user", "content": "#fake chunks=2 trickle=1"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("model", MODELS)
def test_client_going_away_closes_the_upstream_request(
    sqlite_server: Server, upstream: Upstream, model: str
) -> None:
    token = sqlite_server.create_user(**KEYS)
    before = upstream.stats().get("client_gone", 0)
    stream = client_for(sqlite_server, token).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "#fake chunks=200 delay_ms=50"}],
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    stream.close()
    closed_at = time.monotonic()
    while upstream.stats().get("client_gone", 0) == before:
        assert time.monotonic() - closed_at < 1.0, "upstream still streaming after the client left"
        time.sleep(0.02)
