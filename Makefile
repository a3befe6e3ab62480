# chatgate's everyday commands. `make serve` and `make test` set everything up first.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$$HOME/.local/bin/uv")

.PHONY: setup serve test check lint services bench bench-report bench-profile

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv

setup: $(UV)
	$(UV) sync --frozen

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

# Rewrite docs/performance.md's tables and chart from the newest results.
bench-report: setup
	$(UV) run python -m bench.report

# Where chatgate's CPU goes under W1, sampled with py-spy.
bench-profile: setup
	$(UV) run --with py-spy python -m bench.profile
