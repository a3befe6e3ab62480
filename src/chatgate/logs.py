"""Structured logs: one JSON object a line, safe to ship to any log store.

No secret is ever passed to a log call; the formatter still masks anything
shaped like a token or key, as a second line of defence.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

# Attributes every LogRecord has; anything else was passed with `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_SECRETISH = re.compile(r"\b(cg_|sk-|sk_|key-|gsk_|pplx-|AIza)[-_A-Za-z0-9*.]{6,}")


def scrub(text: str) -> str:
    return _SECRETISH.sub(r"\1[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
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
