# ridectl: the two commands of the README are `make demo` and `make test`.
# Both do all the set-up on a fresh machine (scripts/setup.sh) and start the local broker.
VENV    ?= .venv
BIN     := $(VENV)/bin
RIDECTL := $(BIN)/ridectl
PORT    ?= 9092

.PHONY: setup demo test lint typecheck unit bench stress broker-up broker-down broker-status clean

setup:
	@scripts/setup.sh

## The main job: start the broker (or reuse it) and tell the ordering story on it.
## DEMO_ARGS passes options, e.g. make demo DEMO_ARGS="--fast --pause".
DEMO_ARGS ?=
demo: setup
	@$(RIDECTL) broker up --port $(PORT) >/dev/null
	$(RIDECTL) demo -b 127.0.0.1:$(PORT) $(DEMO_ARGS)

## Lint, format check, type check, then the whole test suite against a real broker
## (the tests start their own broker on free ports and stop it).
test: setup lint typecheck
	$(BIN)/pytest

## The lockfile still matches pyproject.toml (else uv stops with its reason; `uv lock` mends
## it), ruff, the format check, and the layers (pyproject.toml's [tool.importlinter]).
lint:
	$(BIN)/uv lock --check
	$(BIN)/ruff check ridectl tests
	$(BIN)/ruff format --check ridectl tests
	$(BIN)/lint-imports --no-cache

typecheck:
	$(BIN)/mypy ridectl

## Pure logic only (no Kafka): quick feedback while editing.
unit: setup
	$(BIN)/pytest -m "not kafka"

bench: setup
	$(RIDECTL) bench --size full --out-dir bench

## The fault proxy under load (not in CI, minutes): for each client (kafka-python, Java,
## librdkafka) STRESS_RUNS producer runs through mixed faults, each checked for a balanced request
## ledger, then the 10,000-frame fuzz; prints figures per client.
STRESS_RUNS ?= 10
stress: setup
	RIDECTL_STRESS_RUNS=$(STRESS_RUNS) RIDECTL_STRESS_RECORDS=1000 \
		$(BIN)/pytest -q -s tests/test_proxy_stress.py tests/test_proxy_fuzz.py

broker-up: setup
	$(RIDECTL) broker up --port $(PORT)

broker-down: setup
	$(RIDECTL) broker down

broker-status: setup
	$(RIDECTL) broker status

clean:
	-@[ -x $(RIDECTL) ] && $(RIDECTL) broker down --wipe || true
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
