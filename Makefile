# chatgate's everyday commands. `make serve` and `make test` set everything up first.
SHELL := /bin/bash
# uv from PATH, else the one pip installs (the uv package runs as `python3 -m uv` wherever it lands).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: setup serve test check lint services bench

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
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
