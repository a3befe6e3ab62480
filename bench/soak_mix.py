"""The soak's fault mix: which requests misbehave and how, and what each one's
client saw, named so that expected faults and unexpected errors can be told apart.

Out of every ``CYCLE`` requests, one asks the fake upstream to fail (in turn: a
500 before the answer, a 429 before the answer, the connection dropped after
five chunks) and one is abandoned by the client at its first answer byte.
"""

from __future__ import annotations

from enum import StrEnum

from bench.client import Exchange

CYCLE = 20  # 1 upstream failure and 1 abandoned answer in every 20 requests: 5% each
UPSTREAM_FAILURE_AT = 7  # positions in the cycle, apart so the faults spread out in time
ABANDON_AT = 17
FAIL_AFTER_CHUNKS = 5


class Fault(StrEnum):
    NONE = "clean"
    STATUS_500 = "upstream 500"
    STATUS_429 = "upstream 429"
    DROPPED = "upstream drops mid-answer"
    ABANDONED = "client leaves at first byte"


UPSTREAM_FAILURES = (Fault.STATUS_500, Fault.STATUS_429, Fault.DROPPED)


class Outcome(StrEnum):
    """What the client saw; a non-200 status is named ``status N`` instead."""

    COMPLETE = "complete answer"
    WRONG_LENGTH = "ended cleanly, wrong length"
    CUT_OFF = "cut off mid-answer"
    LOST = "connection lost before any status"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    CANNOT_CONNECT = "cannot connect"


EXPECTED = {
    Fault.NONE: Outcome.COMPLETE.value,
    Fault.STATUS_500: "status 500",
    Fault.STATUS_429: "status 429",
    Fault.DROPPED: Outcome.CUT_OFF.value,
    Fault.ABANDONED: Outcome.ABANDONED.value,
}


def assign_fault(index: int) -> Fault:
    """The fault of the ``index``-th request of the run (counted from 0)."""
    position, turn = index % CYCLE, index // CYCLE
    if position == UPSTREAM_FAILURE_AT:
        return UPSTREAM_FAILURES[turn % len(UPSTREAM_FAILURES)]
    if position == ABANDON_AT:
        return Fault.ABANDONED
    return Fault.NONE


def directive(fault: Fault, *, index: int, chunks: int, delay_ms: int) -> str:
    """The ``#fake`` line that shapes the fake upstream's answer to this request."""
    line = f"#fake chunks={chunks} delay_ms={delay_ms}"
    if fault is Fault.STATUS_500:
        return f"{line} status=500 tag={index}"
    if fault is Fault.STATUS_429:
        return f"{line} status=429 tag={index}"
    if fault is Fault.DROPPED:
        return f"{line} fail_after={FAIL_AFTER_CHUNKS}"
    return line


def outcome(exchange: Exchange, expected_answer_bytes: int) -> str:
    """Name what the client saw of one request (of a broken connection: what had
    arrived before it broke, which has not ``ended``)."""
    if exchange.status == 0:
        return Outcome.LOST.value
    if exchange.status != 200:
        return f"status {exchange.status}"
    if exchange.abandoned:
        return Outcome.ABANDONED.value
    if not exchange.ended:
        return Outcome.CUT_OFF.value
    if exchange.answer_bytes != expected_answer_bytes:
        return Outcome.WRONG_LENGTH.value
    return Outcome.COMPLETE.value


def is_expected(fault: Fault, seen: str) -> bool:
    return EXPECTED[fault] == seen
