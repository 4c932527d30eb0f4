# One command each: `make demo` runs the local demo, `make test` runs every test.
# Both install what they need first (a virtualenv in .venv and redis-server via apt).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CDK CLI, pinned; npx fetches it from the npm registry on first use (Node.js 20+). localstack/check.py reads
# CDK_CLI and CDKLOCAL (cdklocal, the CDK CLI pointed at LocalStack) from here.
CDK_CLI := aws-cdk@2.1148.1
CDKLOCAL := aws-cdk-local@3.0.4
CDK ?= npx --yes $(CDK_CLI)
ARCH ?= arm64
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install system-deps demo test lint unit integration infra bench bench-cluster bench-script api synth layers diff deploy \
	destroy localstack-install localstack-check localstack-up localstack-deploy localstack-bridge localstack-down clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

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

test: install system-deps lint  ## Lint, then run the unit, integration and infrastructure (CDK) tests.
	$(BIN)/pytest

lint:  ## ruff (lint + format check).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: install  ## Unit tests only (no servers).
	$(BIN)/pytest tests/unit

integration: install system-deps  ## Integration tests (real redis-server and broker on loopback).
	$(BIN)/pytest tests/integration

infra: install  ## CDK assertions and cdk-nag checks of every stack (no Docker, no AWS credentials).
	$(BIN)/pytest tests/infra

bench: install system-deps  ## The throughput benchmark (see docs/performance.md).
	$(BIN)/python benchmarks/throughput.py

bench-cluster: install system-deps  ## The handler in 2 processes on a 3-master Redis Cluster (see docs/scaling.md).
	$(BIN)/python benchmarks/cluster.py

bench-script: install system-deps  ## The window script's instructions per trade under valgrind (see benchmarks/README.md).
	$(BIN)/python benchmarks/script_cost.py --by-scope

api: install system-deps  ## Serve the ingest and reporting APIs on http://127.0.0.1:8080 with the pipeline.
	$(BIN)/riskengine api serve

layers: install  ## Build the Lambda layers without Docker and print their sizes (ARCH=arm64|x86_64).
	$(BIN)/python infra/scripts/build_layers.py --architecture $(ARCH)

synth: install  ## cdk synth of the whole app (layers bundled locally; no Docker, no AWS credentials needed).
	$(CDK) synth --quiet

diff: install  ## cdk diff against the account in your AWS credentials.
	$(CDK) diff

deploy: install  ## cdk deploy --all (see docs/deploy.md first).
	$(CDK) deploy --all

destroy: install  ## cdk destroy --all (see docs/deploy.md, "Teardown").
	$(CDK) destroy --all

localstack-install:  ## LocalStack's free runtime in .venv-localstack (Python 3.13 via pyenv; no Docker).
	python3 localstack/host.py

localstack-check: install system-deps  ## Start LocalStack (no Docker), cdklocal-deploy alerting + configuration, check the alert filter.
	$(BIN)/python localstack/check.py

LOCALSTACK := docker compose -f localstack/docker-compose.yml
LOCALSTACK_URL := http://127.0.0.1:4566
BRIDGE := $(BIN)/riskengine bridge --endpoint-url $(LOCALSTACK_URL) --bootstrap-servers 127.0.0.1:9092

localstack-up:  ## Start LocalStack 4.14.0, Redis, Kafka, OpenSearch (needs Docker; docs/localstack.md).
	$(LOCALSTACK) up -d --wait

localstack-deploy: install  ## Deploy the functions to LocalStack, then create the topics and search templates.
	$(BIN)/python localstack/deploy.py --endpoint-url $(LOCALSTACK_URL)

localstack-bridge: install  ## The five MSK triggers as bridges invoking the LocalStack functions (Ctrl-C stops).
	$(BRIDGE) --topic crypto-trades --function riskengine-score-trades --group-id riskengine-score-trades & \
	$(BRIDGE) --topic crypto-orders --function riskengine-score-orders --group-id riskengine-score-orders & \
	$(BRIDGE) --topic risk-alerts --function riskengine-dispatch-alerts --group-id riskengine-dispatch-alerts & \
	$(BRIDGE) --topic risk-analyzed-trades --function riskengine-index-search --group-id riskengine-index-search-analyzed & \
	$(BRIDGE) --topic risk-alerts --function riskengine-index-search --group-id riskengine-index-search-alerts & \
	wait

localstack-down:  ## Stop the LocalStack stack and remove its containers and network.
	$(LOCALSTACK) down -v

clean:  ## Remove the virtualenv, caches and cdk.out.
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis cdk.out
