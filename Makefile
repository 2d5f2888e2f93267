# meshstack: `make demo` renders the dev stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup test lint typecheck unit demo bench bench-review clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check components stacks tests scripts policy __main__.py
	$(BIN)/ruff format --check components stacks tests scripts policy __main__.py
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/lint-workflows.sh

typecheck: setup
	$(BIN)/mypy
	$(BIN)/mypy policy/__main__.py

unit: setup
	$(BIN)/pytest

test: lint typecheck unit

demo: setup
	bash scripts/demo.sh

# How meshstack's cost grows with the mesh (a benchmark, not a test): results/bench-*.json
bench: setup
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# How meshstack graph / diff scale with the number of services (quadratic by nature)
bench-review: setup
	$(BIN)/python scripts/bench_review.py $(BENCH_ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
