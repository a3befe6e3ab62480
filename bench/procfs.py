"""A process tree's CPU time and memory, read from /proc."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# Fields of /proc/<pid>/stat, counted after the command name's closing parenthesis.
_PPID, _UTIME, _STIME, _RSS = 1, 11, 12, 21


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses: split after its last ")".
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[_PPID]), []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return tree


def cpu_seconds(pids: Iterable[int]) -> float:
    """User plus system CPU time of the processes (every thread of each)."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            ticks += int(fields[_UTIME]) + int(fields[_STIME])
    return ticks / CLOCK_TICKS


def rss_bytes(pids: Iterable[int]) -> int:
    """The processes' resident memory, summed."""
    pages = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            pages += int(fields[_RSS])
    return pages * PAGE_SIZE


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time of each live thread of a process, by thread id."""
    times: dict[int, float] = {}
    for entry in os.scandir(f"/proc/{pid}/task"):
        try:
            raw = Path(entry.path, "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        times[int(entry.name)] = (int(fields[_UTIME]) + int(fields[_STIME])) / CLOCK_TICKS
    return times


def open_fds(pids: Iterable[int]) -> int:
    """File descriptors the processes hold open: entries of /proc/<pid>/fd."""
    count = 0
    for pid in pids:
        try:
            count += len(os.listdir(f"/proc/{pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return count
