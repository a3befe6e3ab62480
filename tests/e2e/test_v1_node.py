"""The official openai Node SDK against a real server's /v1 (tests/node_sdk/): models,
answers streamed and not with usage, tool calls and each error class, on every wire
format. Its packages come from the npm registry, installed once into a cache keyed by
the lock file; without Node.js and npm the test is skipped."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from chatgate.fake import reply_pieces
from tests.e2e.conftest import Server

SOURCE = Path(__file__).parent.parent / "node_sdk"
MODELS = ["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash"]


def installed_packages() -> Path:
    """tests/node_sdk's packages, installed with ``npm ci`` into the cache on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed")
    lock = (SOURCE / "package-lock.json").read_bytes()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = base / "chatgate-tests" / f"node-sdk-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        for name in ("package.json", "package-lock.json"):
            shutil.copy(SOURCE / name, staging / name)
        subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=staging,
            check=True,
            capture_output=True,
            timeout=300,
        )
        try:
            staging.rename(target)
        except OSError:  # another run installed it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    shutil.copy(SOURCE / "v1_client.mjs", target / "v1_client.mjs")
    return target


def test_node_sdk_against_v1(sqlite_server: Server) -> None:
    packages = installed_packages()
    token = sqlite_server.create_user(
        openai_key="sk-node-0001",
        anthropic_api_key="sk-ant-node-0002",
        google_gemini_api_key="gem-node-0003",
    )
    env = os.environ | {
        "CHATGATE_URL": sqlite_server.base_url,
        "CHATGATE_TOKEN": token,
        "MODELS": json.dumps(MODELS),
    }
    run = subprocess.run(
        ["node", str(packages / "v1_client.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(MODELS) <= set(result["models"])
    answer = "".join(reply_pieces(12))
    for model in MODELS:
        chat = result["chats"][model]
        assert chat["answer"] == answer, model
        assert chat["streamed"] == answer, model
        assert chat["finish"] == "stop", model
        assert chat["usage"]["total_tokens"] > 0, model
        assert chat["toolCall"]["name"] == "get_weather", model
        assert json.loads(chat["toolCall"]["arguments"]) == {"city": "Paris"}, model
        assert chat["toolFinish"] == "tool_calls", model
    errors = result["errors"]
    assert errors["badToken"] == {
        "class": "AuthenticationError",
        "status": 401,
        "code": "invalid_api_key",
    }
    assert errors["unknownModel"]["class"] == "NotFoundError"
    assert errors["unknownModel"]["code"] == "model_not_found"
    assert errors["midStream"]["class"] == "APIError"
