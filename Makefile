# chatgate's everyday commands. `make serve` and `make test` set everything up first.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$$HOME/.local/bin/uv")

.PHONY: setup serve test check lint services bench

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
