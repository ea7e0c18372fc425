# fitray: `make demo` runs the main job, `make test` runs the tests. Each does its own set-up:
# system packages (if missing), the virtual environment, the local stack.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fitray-installed
PYTEST_ARGS ?=

.PHONY: demo test bench setup system-deps stack stack-down lint clean

# The local calorie service has no quota; lift the client's API-Ninjas-sized default (50/s).
demo: export FITRAY_CALORIE_RATE_LIMIT_PER_S ?= 2000
demo: stack
	$(BIN)/fitray demo

test: stack
	$(BIN)/pytest $(PYTEST_ARGS)

# Every benchmark at its default size (~5 min here); JSON in bench/results/. BENCH_ARGS=--smoke
# runs each at a tiny size, BENCH_ARGS="load metrics" only those.
BENCH_ARGS ?=
bench: stack
	$(BIN)/python -m bench $(BENCH_ARGS)

setup: system-deps $(STAMP)

system-deps:
	@bash deploy/local/install-system-deps.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

stack: setup
	$(BIN)/fitray stack up

stack-down:
	@if [ -x $(BIN)/fitray ]; then $(BIN)/fitray stack down; fi

lint: setup
	$(BIN)/ruff check fitray services flows tests bench
	$(BIN)/ruff format --check fitray services flows tests bench
	$(BIN)/mypy fitray services flows

clean: stack-down
	rm -rf .stack $(VENV)
