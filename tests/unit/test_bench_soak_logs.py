import orjson

from bench.soak_logs import summarise_log


def line(**fields: object) -> str:
    return orjson.dumps(fields).decode()


def test_log_lines_are_counted_by_kind_most_severe_first() -> None:
    lines = [
        line(level="info", logger="chatgate.api.chat", msg="client went away"),
        line(level="warning", logger="chatgate.api.chat", msg="cut off after 12 chunks"),
        line(level="warning", logger="chatgate.api.chat", msg="cut off after 3 chunks"),
        line(level="error", logger="chatgate.api.chat", msg="failed", exc="Trace\nKeyError: 'x'"),
        "Traceback (most recent call last):",
        "",
    ]
    events, access = summarise_log(lines)
    assert [(e.level, e.message, e.count) for e in events] == [
        ("unparsed", "Traceback (most recent call last):", 1),
        ("error", "failed", 1),
        ("warning", "cut off after # chunks", 2),
        ("info", "client went away", 1),
    ]
    assert events[1].example.endswith("... KeyError: 'x'")
    assert '"cut off after 12 chunks"' in events[2].example
    assert access == {}


def test_access_lines_are_counted_by_status_and_outcome() -> None:
    access_line = {"level": "info", "logger": "chatgate.access", "msg": "-"}
    chat = {"method": "POST", "path": "/api/chat/openai"}
    lines = [
        line(**access_line, **chat, status=200, outcome=None),
        line(**access_line, **chat, status=200, outcome="client_gone"),
        line(**access_line, **chat, status=200, outcome=None),
    ]
    _events, access = summarise_log(lines)
    assert access == {"POST /api/chat/openai 200": 2, "POST /api/chat/openai 200 client_gone": 1}
