"""The usage ledger of a real `chatgate serve`: every answer leaves its row,
however it ends; the operator's commands read and set it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from chatgate.auth import hash_token
from chatgate.db.engine import make_engine
from chatgate.db.queries import Database
from chatgate.db.tables import access_tokens
from chatgate.db.usage_tables import usage
from chatgate.fake import reply_pieces
from chatgate.usage.counting import estimate_prompt_tokens, estimate_text_tokens
from tests.e2e.conftest import CHAT_PATH, Server, Upstream, chat_body, read_answer, serving
from tests.e2e.test_faults import abandon


def rows_of(database_url: str, token: str) -> list[Any]:
    """The ledger rows of the requests made with ``token``, oldest first."""

    async def read() -> list[Any]:
        db = Database(make_engine(database_url))
        try:
            async with db.engine.connect() as conn:
                query = (
                    select(usage)
                    .join(access_tokens, access_tokens.c.id == usage.c.token_id)
                    .where(access_tokens.c.token_hash == hash_token(token))
                    .order_by(usage.c.id)
                )
                return list((await conn.execute(query)).all())
        finally:
            await db.close()

    return asyncio.run(read())


def wait_for_rows(server: Server, token: str, count: int) -> list[Any]:
    deadline = time.monotonic() + 5
    while True:
        rows = rows_of(server.database_url, token)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


@pytest.fixture(scope="module")
def usage_server(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("usage")
    with serving(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", {}) as server:
        yield server


def test_a_cut_off_answer_counts_what_was_streamed(usage_server: Server) -> None:
    token = usage_server.create_user(openai_key="sk-usage-0501")
    body = chat_body("#fake fail_after=3")
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        read_answer(usage_server, token, body, into=received)
    [row] = wait_for_rows(usage_server, token, 1)
    assert row.outcome == "cut_off"
    text = "".join(received)
    assert text == "".join(reply_pieces(3))
    # The usage chunk never came: both counts are estimates.
    assert row.estimated
    assert row.completion_tokens == estimate_text_tokens(len(text))
    assert row.prompt_tokens == estimate_prompt_tokens(body["messages"])
    assert row.ttfb_ms is not None


def test_a_client_going_away_leaves_its_row(usage_server: Server) -> None:
    token = usage_server.create_user(openai_key="sk-usage-0502")
    abandon(usage_server, token, chat_body("#fake chunks=100 delay_ms=100"), after=0.5)
    [row] = wait_for_rows(usage_server, token, 1)
    assert row.outcome == "client_gone"
    assert row.estimated
    assert 0 < row.completion_tokens < estimate_text_tokens(len("".join(reply_pieces(100))))
    assert 300 < row.duration_ms < 2000


def test_a_complete_answer_counts_the_providers_usage(usage_server: Server) -> None:
    token = usage_server.create_user(openai_key="sk-usage-0503")
    response = httpx.post(
        usage_server.base_url + CHAT_PATH,
        json=chat_body(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    [row] = wait_for_rows(usage_server, token, 1)
    assert (row.outcome, row.prompt_tokens, row.completion_tokens) == ("complete", 5, 9)
    assert row.request_id == response.headers["x-request-id"]


def test_sigterm_mid_answer_leaves_the_answers_row(upstream: Upstream, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chatgate.db'}"
    extra = {"CHATGATE_SHUTDOWN_GRACE_SECONDS": "1"}
    with serving(tmp_path, upstream, url, extra) as server:
        finishing = server.create_user(openai_key="sk-usage-0504")
        cut = server.create_user(openai_key="sk-usage-0505")

        def read(token: str, directive: str) -> None:
            with contextlib.suppress(httpx.HTTPError):  # the one past the grace is cut off
                read_answer(server, token, chat_body(directive), into=[])

        readers = [
            threading.Thread(target=read, args=(finishing, "#fake chunks=3 delay_ms=200")),
            threading.Thread(target=read, args=(cut, "#fake chunks=50 delay_ms=200")),
        ]
        for reader in readers:
            reader.start()
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        for reader in readers:
            reader.join(15)
        assert server.process.wait(15) in (0, -signal.SIGTERM)
    # Written at the stop, before the process ended.
    [finished] = rows_of(url, finishing)
    assert (finished.outcome, finished.prompt_tokens, finished.completion_tokens) == (
        "complete",
        5,
        9,
    )
    [cut_off] = rows_of(url, cut)
    assert cut_off.outcome == "cut_off"
    assert cut_off.completion_tokens > 0


def test_operators_set_quotas_and_read_usage_with_the_cli(usage_server: Server) -> None:
    name = f"quota{time.monotonic_ns()}"
    created = usage_server.cli("user", "create", name)
    token = created.stdout.strip().splitlines()[-1]
    usage_server.cli("profile", "set", name, "--openai-api-key-stdin", input="sk-usage-0506\n")
    shown = usage_server.cli("user", "quota", name, "--tokens-per-day", "10").stdout
    assert "tokens per day: 10 (this user's own); used today: 0" in shown
    assert "tokens per month: no limit (the server's default)" in shown
    headers = {"Authorization": f"Bearer {token}"}
    url = usage_server.base_url + CHAT_PATH
    assert httpx.post(url, json=chat_body(), headers=headers).status_code == 200
    refused = httpx.post(url, json=chat_body(), headers=headers)
    assert refused.status_code == 429
    assert refused.json() == {"message": "Daily token quota of 10 reached; it resets at 00:00 UTC"}
    wait_for_rows(usage_server, token, 1)
    table = usage_server.cli("usage", "--user", name, "--by", "model").stdout.splitlines()
    assert table[1].split() == ["model", "requests", "prompt", "completion", "total", "estimated"]
    assert table[2].split() == ["openai/gpt-4o", "1", "5", "9", "14", "0"]
    assert table[3].split() == ["total", "1", "5", "9", "14", "0"]
    by_user = usage_server.cli("usage", "--by", "user").stdout
    assert any(line.split()[:2] == [name, "1"] for line in by_user.splitlines())
    bad = usage_server.cli("usage", "--since", "last week", check=False)
    assert bad.returncode == 2
    assert "since must be a date as YYYY-MM-DD" in bad.stderr
    back = usage_server.cli("user", "quota", name, "--tokens-per-day", "default").stdout
    assert "tokens per day: no limit (the server's default); used today: 14" in back


def test_an_answer_ends_with_its_end_event_and_counts_as_complete(usage_server: Server) -> None:
    # The upstream sends its end event, then takes a while to end its response: the
    # client has the whole answer at once, and leaving then is not leaving early.
    token = usage_server.create_user(openai_key="sk-usage-0506")
    started = time.monotonic()
    response = httpx.post(
        usage_server.base_url + CHAT_PATH,
        json=chat_body("#fake chunks=5 linger_ms=1500"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert time.monotonic() - started < 1.0  # not held for the upstream's lingering
    assert response.text == "".join(reply_pieces(5))
    [row] = wait_for_rows(usage_server, token, 1)
    assert row.outcome == "complete"
    assert (row.prompt_tokens, row.completion_tokens) == (5, 9)  # the fake's own counts
