# chatgate's everyday commands. `make serve` and `make test` set everything up first.
SHELL := /bin/bash
# uv from PATH, else the one pip installs (the uv package runs as `python3 -m uv` wherever it lands).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: setup serve test check lint services bench bench-report bench-profile bench-responsiveness soak soak-report

# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE=1 (set on many machines and images)
# every start of chatgate would otherwise compile its dependencies again.
setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode

serve: setup
	$(UV) run chatgate serve

services:
	scripts/services

test: setup services
	$(UV) run pytest

check: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

# The benchmark (docs/performance.md): BENCH_ARGS=--quick for a smoke run.
bench: setup
	$(UV) run python -m bench $(BENCH_ARGS)

# Rewrite docs/performance.md's tables and chart from the newest full run, beside the run
# the page showed until then (docs/performance-run.json, kept as docs/performance-baseline.json).
bench-report: setup
	$(UV) run python -m bench.report

# Where chatgate's CPU goes under W1, sampled with py-spy.
bench-profile: setup
	$(UV) run --with py-spy python -m bench.profile

# Five minutes of 500 slow streams with upstream failures and clients leaving: does anything
# accumulate? SOAK_ARGS=--quick for a 30 s smoke run (or --concurrency N --minutes M).
soak: setup
	$(UV) run python -m bench.soak $(SOAK_ARGS)

# Rewrite docs/performance.md's soak section from the newest full soak.
soak-report: setup
	$(UV) run python -m bench.soak_report

# Does one heavy chat request (a body at the size limit) stall everyone else's /healthz?
bench-responsiveness: setup
	$(UV) run python -m bench.responsiveness
