"""The workloads the benchmark runs, and their smaller --quick versions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Workload(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    summary: str
    chunks: int  # text chunks per answer
    delay_ms: int  # pause between chunks
    requests: int
    concurrency: int

    @property
    def directive(self) -> str:
        """The line that shapes the fake upstream's answer for this workload."""
        return f"#fake chunks={self.chunks} delay_ms={self.delay_ms}"

    def describe(self) -> str:
        delay = f"{self.delay_ms} ms apart" if self.delay_ms else "no delay"
        return (
            f"{self.name} {self.summary}: {self.chunks:,} chunks, {delay}; "
            f"{self.requests:,} requests at concurrency {self.concurrency:,}"
        )


WORKLOADS = (
    Workload(
        name="W1", summary="short answers", chunks=50, delay_ms=0, requests=2000, concurrency=50
    ),
    Workload(
        name="W2", summary="long answers", chunks=1000, delay_ms=0, requests=200, concurrency=100
    ),
    Workload(
        name="W3", summary="slow streams", chunks=20, delay_ms=100, requests=2000, concurrency=1000
    ),
    Workload(
        name="W4", summary="one at a time", chunks=10, delay_ms=0, requests=300, concurrency=1
    ),
)

WARM_UP = Workload(
    name="warm-up", summary="warm-up", chunks=10, delay_ms=0, requests=100, concurrency=10
)

# (requests, concurrency) of each workload in a --quick smoke run
_QUICK_COUNTS = ((200, 20), (20, 10), (200, 100), (30, 1))

QUICK_WORKLOADS = tuple(
    workload.model_copy(update={"requests": requests, "concurrency": concurrency})
    for workload, (requests, concurrency) in zip(WORKLOADS, _QUICK_COUNTS, strict=True)
)


def through_v1(w1: Workload) -> Workload:
    """W5: W1's load through /v1/chat/completions, streamed with usage."""
    return w1.model_copy(update={"name": "W5", "summary": "W1 through /v1, with usage"})


# The memory case's answers: as many chunks a second per stream as one worker can
# relay for 4,000 streams at once, so that its figure is what an open stream holds,
# not the backlog of a server that has fallen behind (W3's pace, 10 chunks a second
# per stream, is 40,000 a second at 4,000 streams: more than one worker relays).
HELD_CHUNKS = 10
HELD_DELAY_MS = 1000


def holding_streams(w3: Workload, streams: int) -> Workload:
    """Slow answers (HELD_CHUNKS, HELD_DELAY_MS apart) with ``streams`` connections,
    each sending two requests one after the other, so that every connection holds a
    stream through the middle of the run."""
    return w3.model_copy(
        update={
            "name": f"W3 x {streams:,}",
            "summary": f"{streams:,} slow streams at once",
            "chunks": HELD_CHUNKS,
            "delay_ms": HELD_DELAY_MS,
            "requests": 2 * streams,
            "concurrency": streams,
        }
    )
