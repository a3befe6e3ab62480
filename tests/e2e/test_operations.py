"""What an operator relies on from a real process: its log lines, secret rotation
with the CLI, and shutdown.

Limits and CORS are tested in-process: tests/api/test_limits.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import (
    CHAT_PATH,
    Server,
    Upstream,
    base_env,
    chat_body,
    read_answer,
    serving,
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'chatgate.db'}"


def test_logs_are_json_lines_that_carry_the_request_id(sqlite_server: Server) -> None:
    token = sqlite_server.create_user(openai_key="sk-logged-0203")
    response = httpx.post(sqlite_server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token))
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while request_id not in sqlite_server.log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    complete_lines = sqlite_server.log.read_text().split("\n")[:-1]  # the last may be half-written
    entries = [json.loads(line) for line in complete_lines if line.strip()]
    access = next(e for e in entries if e.get("request_id") == request_id)
    assert access["path"] == CHAT_PATH
    assert access["status"] == 200
    assert isinstance(access["user_id"], int)
    assert "Hello" not in sqlite_server.log.read_text()  # no message content by default


def chatgate(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatgate", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_secret_rotation_keeps_every_key(upstream: Upstream, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    old = {"CHATGATE_SECRET_KEY": "the-old-secret-long-enough-for-chatgate"}
    new = {"CHATGATE_SECRET_KEY": "the-new-secret-long-enough-for-chatgate"}
    env_old = base_env(tmp_path, upstream, url, old)
    token = chatgate(env_old, "user", "create", "rotating").stdout.splitlines()[-1]
    chatgate(
        env_old, "profile", "set", "rotating", "--openai-api-key-stdin", stdin="sk-rotated-0204\n"
    )
    model_id = chatgate(
        env_old,
        "model",
        "create",
        "rotating",
        "--name",
        "Local",
        "--base-url",
        upstream.url,
        "--model-id",
        "llama",
        "--context-length",
        "8192",
        "--api-key-stdin",
        stdin="sk-custom-rotated-0207\n",
    ).stdout.splitlines()[-1]
    env_both = base_env(
        tmp_path,
        upstream,
        url,
        {**new, "CHATGATE_PREVIOUS_SECRET_KEYS": old["CHATGATE_SECRET_KEY"]},
    )
    assert "re-encrypted 2 stored values" in chatgate(env_both, "secret", "rotate").stdout

    with serving(tmp_path, upstream, url, new) as server:
        server.secrets_used.update({token, "sk-rotated-0204", "sk-custom-rotated-0207"})
        response = httpx.post(server.base_url + CHAT_PATH, json=chat_body(), headers=auth(token))
        assert response.status_code == 200
        assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-rotated-0204"
        custom = httpx.post(
            server.base_url + "/api/chat/custom",
            json={**chat_body(), "customModelId": model_id},
            headers=auth(token),
        )
        assert custom.status_code == 200
        assert (
            upstream.last_request()["headers"]["Authorization"] == "Bearer sk-custom-rotated-0207"
        )


def test_sigterm_lets_answers_finish_and_keeps_acknowledged_changes(
    upstream: Upstream, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    with serving(tmp_path, upstream, url, {"CHATGATE_SHUTDOWN_GRACE_SECONDS": "10"}) as server:
        token = server.create_user()
        patched = httpx.patch(
            server.base_url + "/api/profile",
            json={"openai_api_key": "sk-kept-0205"},
            headers=auth(token),
        )
        assert patched.status_code == 200
        received: list[str] = []
        body = chat_body("#fake chunks=6 delay_ms=300")
        reader = threading.Thread(
            target=read_answer, args=(server, token, body), kwargs={"into": received}
        )
        reader.start()
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        reader.join(15)
        assert "".join(received) == "".join(reply_pieces(6))
        assert server.process.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.base_url + "/healthz")
    with serving(tmp_path, upstream, url, {}) as restarted:
        response = httpx.post(restarted.base_url + CHAT_PATH, json=chat_body(), headers=auth(token))
        assert response.status_code == 200
        assert upstream.last_request()["headers"]["Authorization"] == "Bearer sk-kept-0205"


def test_answers_past_the_grace_period_are_cut_off(upstream: Upstream, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with serving(tmp_path, upstream, url, {"CHATGATE_SHUTDOWN_GRACE_SECONDS": "1"}) as server:
        token = server.create_user(openai_key="sk-cut-off-0206")
        errors: list[BaseException] = []

        def read() -> None:
            try:
                read_answer(server, token, chat_body("#fake chunks=50 delay_ms=200"), into=[])
            except httpx.HTTPError as exc:
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        reader.join(15)
        assert server.process.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        assert time.monotonic() - started < 5
        assert errors
        assert isinstance(errors[0], httpx.RemoteProtocolError)
