"""The request each system receives: Chatbot UI's body for chatgate, and the
OpenAI request chatgate makes of it for the floor."""

from __future__ import annotations

from typing import Any

import orjson

from bench.workloads import Workload
from chatgate.fake import reply_pieces
from chatgate.providers.chat import ChatRequest
from chatgate.providers.openai import build_payload

MODEL = "gpt-4o"
TEMPERATURE = 0.5


def _messages(workload: Workload) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"Hello\n{workload.directive}"}]


def chatbot_ui_body(workload: Workload) -> str:
    body = {
        "chatSettings": {"model": MODEL, "temperature": TEMPERATURE},
        "messages": _messages(workload),
    }
    return orjson.dumps(body).decode()


def openai_body(workload: Workload) -> str:
    chat = ChatRequest(model=MODEL, temperature=TEMPERATURE, messages=_messages(workload))
    return build_payload(chat, model=MODEL).decode()


def expected_answer_bytes(workload: Workload) -> int:
    return len("".join(reply_pieces(workload.chunks)).encode())
