import itertools
from collections import Counter

import pytest

from bench.client import Exchange
from bench.soak_mix import (
    CYCLE,
    EXPECTED,
    Fault,
    Outcome,
    assign_fault,
    directive,
    is_expected,
    outcome,
)

EXPECTED_BYTES = 100


def exchange(
    status: int = 200,
    *,
    answer_bytes: int = EXPECTED_BYTES,
    ended: bool = True,
    abandoned: bool = False,
) -> Exchange:
    return Exchange(
        status=status,
        first_byte=0.01 if answer_bytes else None,
        total=0.02,
        answer_bytes=answer_bytes,
        ended=ended,
        abandoned=abandoned,
    )


def test_five_percent_fail_upstream_and_five_percent_are_abandoned() -> None:
    counts = Counter(assign_fault(index) for index in range(60 * CYCLE))
    assert counts[Fault.ABANDONED] == 60
    assert counts[Fault.STATUS_500] == counts[Fault.STATUS_429] == counts[Fault.DROPPED] == 20
    assert counts[Fault.NONE] == 60 * CYCLE - 120


def test_upstream_failures_take_turns_and_stay_apart_from_abandons() -> None:
    faults = [assign_fault(index) for index in range(3 * CYCLE)]
    failures = [f for f in faults if f not in (Fault.NONE, Fault.ABANDONED)]
    assert failures == [Fault.STATUS_500, Fault.STATUS_429, Fault.DROPPED]
    positions = [i for i, f in enumerate(faults) if f is not Fault.NONE]
    assert all(b - a >= 5 for a, b in itertools.pairwise(positions))


def test_directives_shape_the_answer_and_tag_each_status_failure() -> None:
    shape = "#fake chunks=20 delay_ms=100"
    assert directive(Fault.NONE, index=3, chunks=20, delay_ms=100) == shape
    assert directive(Fault.ABANDONED, index=3, chunks=20, delay_ms=100) == shape
    assert directive(Fault.STATUS_500, index=3, chunks=20, delay_ms=100) == (
        f"{shape} status=500 tag=3"
    )
    assert directive(Fault.STATUS_429, index=4, chunks=20, delay_ms=100).endswith(
        "status=429 tag=4"
    )
    assert directive(Fault.DROPPED, index=5, chunks=20, delay_ms=100) == f"{shape} fail_after=5"


@pytest.mark.parametrize(
    ("seen", "named"),
    [
        (exchange(), Outcome.COMPLETE.value),
        (exchange(answer_bytes=EXPECTED_BYTES - 1), Outcome.WRONG_LENGTH.value),
        (exchange(answer_bytes=40, ended=False), Outcome.CUT_OFF.value),
        (exchange(answer_bytes=40, ended=False, abandoned=True), Outcome.ABANDONED.value),
        (exchange(500, answer_bytes=60), "status 500"),
        (exchange(429, answer_bytes=60, ended=False, abandoned=True), "status 429"),
        (exchange(0, answer_bytes=0, ended=False), Outcome.LOST.value),
    ],
)
def test_outcome_names_what_the_client_saw(seen: Exchange, named: str) -> None:
    assert outcome(seen, EXPECTED_BYTES) == named


def test_each_fault_expects_its_own_outcome_and_nothing_else() -> None:
    assert is_expected(Fault.DROPPED, Outcome.CUT_OFF.value)
    assert not is_expected(Fault.NONE, Outcome.CUT_OFF.value)
    assert not is_expected(Fault.STATUS_500, "status 502")
    assert not is_expected(Fault.ABANDONED, "status 500")
    assert set(EXPECTED) == set(Fault)
