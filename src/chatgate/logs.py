"""Structured logs: one JSON object a line, safe to ship to any log store.

No secret is ever passed to a log call; the formatter still masks anything
shaped like a token or key, as a second line of defence.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from chatgate.redaction import redact

# Attributes every LogRecord has; anything else was passed with `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    # One access line a request: formatting is on the hot path, so the second's
    # text is made once a second rather than once a line.
    _second = -1
    _second_text = ""

    def timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class DropDeliberateAborts(logging.Filter):
    """uvicorn reports an unfinished response as an error; chatgate leaves one
    unfinished on purpose (an answer cut off mid-stream) and logs that itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("ASGI callable returned without completing response")


def log_config(level: str) -> dict[str, Any]:
    """dictConfig for chatgate and uvicorn alike (each worker process applies it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"deliberate_aborts": {"()": DropDeliberateAborts}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.error": {"filters": ["deliberate_aborts"]},
            "uvicorn.access": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},
        },
    }
