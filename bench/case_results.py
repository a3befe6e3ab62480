"""What the cases beside the workloads found: memory by number of open streams,
and chatgate as a cluster behind nginx. Part of a BenchRun."""

from __future__ import annotations

from pydantic import BaseModel

from bench.measurement import Measurement

KB_PER_MB = 1e3


class MemoryPoint(BaseModel):
    """A fresh chatgate holding ``streams`` slow streams at once."""

    streams: int  # concurrent connections, each with a request in flight
    idle_rss_mb: float  # the fresh process tree before its first request
    peak_streaming: int  # the most answers streaming at once, read from /metrics
    run: Measurement  # its peak_rss_mb is the process tree's peak under the load


class MemorySlope(BaseModel):
    """Peak memory against open streams, a straight line through two points."""

    points: list[MemoryPoint]  # two, fewer streams first

    @property
    def kb_per_stream(self) -> float:
        low, high = self.points[0], self.points[-1]
        added_mb = high.run.peak_rss_mb - low.run.peak_rss_mb
        return added_mb * KB_PER_MB / max(high.streams - low.streams, 1)

    @property
    def fixed_mb(self) -> float:
        """The line's intercept: memory before any stream, as the peaks tell it."""
        low = self.points[0]
        return low.run.peak_rss_mb - self.kb_per_stream * low.streams / KB_PER_MB

    @property
    def idle_rss_mb(self) -> float:
        return self.points[0].idle_rss_mb

    @property
    def error_count(self) -> int:
        return sum(p.run.error_count for p in self.points)


class ClusterResult(BaseModel):
    """Two chatgate instances behind nginx, sharing PostgreSQL and Redis: W1 and W3
    through nginx, CPU of both instances together (nginx's apart)."""

    instances: int
    nginx_version: str
    w1: Measurement | None = None
    w3: Measurement | None = None
