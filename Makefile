# meshstack: `make demo` deploys the dev stack with the real Pulumi engine (render mode),
# `make test` runs every check, end-to-end tests included.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MYPY_CACHE ?= $(HOME)/.cache/meshstack/mypy

.PHONY: setup toolchain test test-fast lint typecheck unit ranges package demo bench bench-review clean

setup: $(VENV)/.installed

# uv (from PyPI) installs the dependencies from its cache in seconds; pip took half a minute.
# uv writes no bytecode unless asked, and where PYTHONDONTWRITEBYTECODE is set nothing ever
# does: every `pulumi up` and preview then compiled pulumi_kubernetes' sources again (0.8 s
# of a 6 s no-op up). Compiled once here, the program's imports read the .pyc files.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev]'
	$(BIN)/python -m compileall -q components/meshstack
	touch $@

lint: setup
	$(BIN)/ruff check components stacks tests scripts __main__.py
	$(BIN)/ruff format --check components stacks tests scripts __main__.py
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/lint-workflows.sh
	$(BIN)/shellcheck -x scripts/*.sh components/meshstack/judge_go/build.sh .ci/run

# The cache lives outside the clone so that every clone on this machine reuses it
# (mypy checks each cached module against its source's hash).
typecheck: setup
	MYPY_CACHE_DIR=$(MYPY_CACHE) $(BIN)/mypy

# The Pulumi CLI, language host, Kubernetes provider, etcd, kube-apiserver and istioctl,
# built from Go modules into ~/.cache/meshstack on first use (22–45 min cold on 2 cores, measured 2026-12-04), then reused.
toolchain:
	bash scripts/toolchain.sh ensure

# Every test, two at a time (the engine tests wait on processes and the API server more
# than they compute); the end-to-end ones fail (never skip) when a tool is missing.
unit: setup toolchain
	MESHSTACK_REQUIRE_ENGINE=1 $(BIN)/pytest -n 2 --dist worksteal --durations=12

# The fast tests at both ends of the dependency ranges the package declares (extra
# virtualenvs under ~/.cache/meshstack/venvs; about 3 min).
ranges: setup
	bash scripts/test_ranges.sh

# Without the real engine, the API server and istioctl: seconds, for the edit-test loop.
test-fast: setup
	$(BIN)/pytest -m "not engine and not cluster"

test: lint typecheck unit ranges

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
