# One command each: `make demo` runs the local demo, `make test` runs every test.
# Both install what they need first (a virtualenv in .venv and redis-server via apt).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help install system-deps demo test lint unit integration bench clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed  ## Create .venv with the engine, the CLI and the dev tools.

system-deps:  ## Install redis-server (apt) if it is missing.
	./scripts/install-system-deps.sh

demo: install system-deps  ## Run the local demo (embedded Redis + Kafka-protocol broker, 20,000 trades).
	$(BIN)/riskengine demo

test: install system-deps lint  ## Lint, then run unit and integration tests.
	$(BIN)/pytest

lint:  ## ruff (lint + format check).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: install  ## Unit tests only (no servers).
	$(BIN)/pytest tests/unit

integration: install system-deps  ## Integration tests (real redis-server and broker on loopback).
	$(BIN)/pytest tests/integration

bench: install system-deps  ## The throughput benchmark (see docs/performance.md).
	$(BIN)/python benchmarks/throughput.py

clean:  ## Remove the virtualenv and caches.
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
