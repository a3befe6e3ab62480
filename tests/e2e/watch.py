"""What a hostile request costs a real `chatgate serve`: its resident memory at
the peak, and the descriptors it still holds afterwards, read from /proc."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Watched:
    pid: int
    rss_before: int
    descriptors_before: int
    peak_rss: int = 0

    @property
    def growth_mb(self) -> float:
        return (self.peak_rss - self.rss_before) / MB

    def descriptors_settle(self, *, slack: int = 2, seconds: float = 5) -> bool:
        """True once the process holds no more descriptors than before (and slack)."""
        deadline = time.monotonic() + seconds
        while open_descriptors(self.pid) > self.descriptors_before + slack:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True


@contextmanager
def watching(pid: int, *, every: float = 0.01) -> Iterator[Watched]:
    """Samples the process's memory every ``every`` seconds while the block runs."""
    watched = Watched(pid, rss_bytes(pid), open_descriptors(pid))
    watched.peak_rss = watched.rss_before
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            watched.peak_rss = max(watched.peak_rss, rss_bytes(pid))
            done.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield watched
    finally:
        done.set()
        sampler.join()
        watched.peak_rss = max(watched.peak_rss, rss_bytes(pid))
