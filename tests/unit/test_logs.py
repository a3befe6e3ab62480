from __future__ import annotations

import json
import logging

from chatgate.logs import DropDeliberateAborts, JsonFormatter


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("chatgate.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_a_line_is_one_json_object_with_the_extra_fields() -> None:
    line = JsonFormatter().format(
        record("GET %s %s", "/healthz", 200, request_id="abc", status=200)
    )
    entry = json.loads(line)
    assert entry["msg"] == "GET /healthz 200"
    assert entry["request_id"] == "abc"
    assert entry["status"] == 200
    assert entry["level"] == "info"


def test_anything_shaped_like_a_secret_is_masked() -> None:
    line = JsonFormatter().format(
        record("token cg_abcdefghijklmnop and key %s", "sk-proj-1234567890", note="gsk_abcdefghij")
    )
    assert "abcdefghijklmnop" not in line
    assert "1234567890" not in line
    assert "gsk_abcdefghij" not in line
    assert "cg_[redacted]" in line


def test_deliberately_unfinished_responses_are_not_reported_as_errors() -> None:
    drop = DropDeliberateAborts()
    assert not drop.filter(record("ASGI callable returned without completing response."))
    assert drop.filter(record("Exception in ASGI application"))
