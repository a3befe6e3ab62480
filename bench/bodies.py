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


def _messages(directive: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"Hello\n{directive}"}]


def chat_body(directive: str) -> str:
    """Chatbot UI's body, its message carrying a ``#fake ...`` line for the fake upstream."""
    body = {
        "chatSettings": {"model": MODEL, "temperature": TEMPERATURE},
        "messages": _messages(directive),
    }
    return orjson.dumps(body).decode()


def chatbot_ui_body(workload: Workload) -> str:
    return chat_body(workload.directive)


def openai_body(workload: Workload) -> str:
    chat = ChatRequest(model=MODEL, temperature=TEMPERATURE, messages=_messages(workload.directive))
    return build_payload(chat, model=MODEL).decode()


def v1_body(workload: Workload) -> str:
    """The same request on chatgate's OpenAI API: streamed, with usage asked for."""
    body = {
        "model": f"openai/{MODEL}",
        "temperature": TEMPERATURE,
        "messages": _messages(workload.directive),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return orjson.dumps(body).decode()


def expected_answer_bytes(chunks: int) -> int:
    """The length of the fake upstream's answer of ``chunks`` pieces."""
    return len("".join(reply_pieces(chunks)).encode())
