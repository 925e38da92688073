# `make help` lists the targets. Everything runs from the project's own virtualenv (.venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup system-deps up test test-fast lint format train bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install the project (CPU torch from this machine's disk)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	touch $@

up: setup ## run everything locally on embedded defaults (broker, SQLite, shipped model, demo feed, dashboard)
	$(BIN)/monitor up

system-deps: ## Debian packages for the browser tests (chromium); needs root or sudo
	@# Without them only the browser test skips (it says why), so a failed install is a warning.
	@bash scripts/install-system-deps.sh || echo "warning: could not install chromium; the browser test will skip"

test: setup system-deps ## run the whole test suite (starts its own broker; uses PostgreSQL on 127.0.0.1:5432)
	$(BIN)/python -m pytest

test-fast: setup ## unit tests only (no services)
	$(BIN)/python -m pytest -m "not integration"

lint: setup ## ruff lint + format check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

train: setup ## train the shipped checkpoint from ../shared/data (seeded; minutes on a GPU, hours on 2 CPU cores: MODEL.md)
	$(BIN)/monitor train

bench: setup ## run the benchmarks (ingestion, model, detector, dashboard); prints figures
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_model.py
	$(BIN)/python bench/bench_detector.py
	$(BIN)/python bench/bench_dashboard.py

clean: ## remove local state (database, broker data, caches)
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
