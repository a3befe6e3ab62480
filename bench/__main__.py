"""``python -m bench [--quick]``: run every workload against the floor, through
chatgate, through the Node reference and through chatgate's other setups, measure
memory by open streams, print the tables, and save the results as JSON."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench.baseline import SHOWN, comparison_headers, comparison_rows
from bench.harness import Options, run_benchmark
from bench.results import BenchRun, load_run
from bench.sections import render_blocks_text, run_blocks
from bench.tables import render_text


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="much smaller counts: a smoke run")
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="measure each workload N times and show the median [3, or 1 with --quick]",
    )
    parser.add_argument("--workers", type=int, default=1, help="chatgate workers [1]")
    parser.add_argument(
        "--scale-to",
        type=int,
        default=2,
        metavar="N",
        help="run W1 and W3 once more through chatgate with N workers; 0 skips it [2]",
    )
    parser.add_argument(
        "--load-processes",
        type=int,
        default=1,
        metavar="N",
        help="load generator processes, for when one cannot keep the server busy [1]",
    )
    args = parser.parse_args(argv)
    return Options(
        quick=args.quick,
        repeats=args.repeat or (1 if args.quick else 3),
        workers=args.workers,
        scale_to=args.scale_to,
        load_processes=args.load_processes,
    )


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def print_run(run: BenchRun) -> None:
    print()
    print(render_blocks_text(run_blocks(run)))
    if SHOWN.is_file():
        shown = load_run(SHOWN)
        print()
        print("Against the run docs/performance.md shows:")
        print(render_text(comparison_headers(shown, run), comparison_rows(shown, run)))


def main() -> None:
    options = parse_options(sys.argv[1:])
    try:
        run = asyncio.run(run_benchmark(options, progress))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("stopped; so is every process the run started")
    print_run(run)
    path = run.save()
    print(f"\nresults saved to {path}; `python -m bench.report {path}` updates the docs")


if __name__ == "__main__":
    main()
