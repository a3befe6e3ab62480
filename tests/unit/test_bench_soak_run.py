import pytest

from bench.prometheus_text import metric_value
from bench.soak import parse_options


def test_metric_value_reads_an_unlabelled_sample() -> None:
    text = "# HELP chatgate_active_answers x\nchatgate_active_answers 3.0\nother_active_answers 9\n"
    assert metric_value(text, "chatgate_active_answers") == 3.0


@pytest.mark.parametrize(
    ("argv", "concurrency", "minutes", "kind"),
    [
        ([], 500, 5.0, "full"),
        (["--quick"], 100, 0.5, "quick"),
        (["--quick", "--concurrency", "50"], 50, 0.5, "custom"),
        (["--minutes", "10"], 500, 10.0, "custom"),
    ],
)
def test_options_and_the_kind_of_run_they_make(
    argv: list[str], concurrency: int, minutes: float, kind: str
) -> None:
    options = parse_options(argv)
    assert (options.concurrency, options.minutes, options.kind) == (concurrency, minutes, kind)


def test_options_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        parse_options(["--concurrency", "0"])
