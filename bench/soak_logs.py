"""chatgate's log after a soak, summed up: its own lines counted by kind (with
the first of each as an example), and its access lines by status and outcome."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson

from bench.soak_results import LogEvent

ACCESS_LOGGER = "chatgate.access"
EXAMPLE_CHARS = 300
LEVELS = ("critical", "error", "warning", "info", "debug")
_DIGITS = re.compile(r"\d+")


def _entry(line: str) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def _example(line: str, entry: dict[str, Any] | None) -> str:
    example = line[:EXAMPLE_CHARS]
    if entry is not None and isinstance(entry.get("exc"), str) and entry["exc"].strip():
        example += " ... " + entry["exc"].strip().splitlines()[-1][:EXAMPLE_CHARS]
    return example


def _access_key(entry: dict[str, Any]) -> str:
    key = f"{entry.get('method')} {entry.get('path')} {entry.get('status')}"
    outcome = entry.get("outcome")
    return f"{key} {outcome}" if outcome else key


def summarise_log(lines: Iterable[str]) -> tuple[list[LogEvent], dict[str, int]]:
    """chatgate's own lines by kind, most severe and then most frequent first (a
    line that is not JSON, such as a raw traceback, is a kind of its own, level
    ``unparsed``, and comes before all); and access lines counted by
    ``METHOD path status [outcome]``."""
    counts: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], str] = {}
    access: Counter[str] = Counter()
    for line in lines:
        if not line.strip():
            continue
        entry = _entry(line)
        if entry is not None and entry.get("logger") == ACCESS_LOGGER:
            access[_access_key(entry)] += 1
            continue
        if entry is None:
            kind = ("unparsed", "-", _DIGITS.sub("#", line.strip()[:100]))
        else:
            message = _DIGITS.sub("#", str(entry.get("msg", "")))
            kind = (str(entry.get("level", "-")), str(entry.get("logger", "-")), message)
        counts[kind] += 1
        examples.setdefault(kind, _example(line, entry))

    def severity(kind: tuple[str, str, str]) -> tuple[int, int]:
        rank = LEVELS.index(kind[0]) if kind[0] in LEVELS else -1
        return rank, -counts[kind]

    events = []
    for kind in sorted(counts, key=severity):
        level, logger, message = kind
        events.append(
            LogEvent(
                level=level,
                logger=logger,
                message=message,
                count=counts[kind],
                example=examples[kind],
            )
        )
    return events, dict(access.most_common())
