"""Everything a run found, in the order it is shown: lines of text and tables,
rendered aligned on stdout by ``python -m bench`` and as Markdown into
docs/performance.md by ``python -m bench.report``."""

from __future__ import annotations

from dataclasses import dataclass

from bench.case_tables import (
    CLUSTER_HEADERS,
    COOKIE_LINE,
    MEMORY_HEADERS,
    WAYS_IN_HEADERS,
    WORKERS_HEADERS,
    cluster_line,
    cluster_rows,
    memory_line,
    memory_rows,
    settings_line,
    ways_in_rows,
    workers_rows,
)
from bench.goals import goal_rows
from bench.reference import goal_heading
from bench.results import BenchRun
from bench.tables import (
    LEGEND,
    RESULT_HEADERS,
    Rows,
    render_markdown,
    render_text,
    result_rows,
    workload_lines,
)


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    rows: Rows


@dataclass(frozen=True, slots=True)
class Lines:
    lines: list[str]
    bullets: bool = False  # a list, in Markdown


Block = Table | Lines


def _text(line: str) -> Lines:
    return Lines([line])


def run_blocks(run: BenchRun) -> list[Block]:
    blocks: list[Block] = [
        Lines(workload_lines(run), bullets=True),
        _text(settings_line(run)),
        Table(RESULT_HEADERS, result_rows(run)),
        Lines(LEGEND.splitlines()),
    ]
    if workers := workers_rows(run):
        blocks += [
            _text("W1 and W3 through chatgate, by number of `--workers`:"),
            Table(WORKERS_HEADERS, workers),
        ]
    if ways := ways_in_rows(run):
        blocks += [_text(COOKIE_LINE), Table(WAYS_IN_HEADERS, ways)]
    blocks.append(_text(cluster_line(run)))
    if shared := cluster_rows(run):
        blocks.append(Table(CLUSTER_HEADERS, shared))
    blocks.append(_text(memory_line(run)))
    if memory := memory_rows(run):
        blocks.append(Table(MEMORY_HEADERS, memory))
    headers, goals = goal_rows(run)
    blocks += [_text(goal_heading(run)), Table(headers, goals)]
    return blocks


def render_blocks_text(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Table):
            parts.append(render_text(block.headers, block.rows))
        else:
            parts.append("\n".join(block.lines))
    return "\n\n".join(parts)


def render_blocks_markdown(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Table):
            parts.append(render_markdown(block.headers, block.rows))
        elif block.bullets:
            parts.append("\n".join(f"- {line}" for line in block.lines))
        else:
            parts.append(" ".join(block.lines))
    return "\n\n".join(parts)
