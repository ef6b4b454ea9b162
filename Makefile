PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= russia-ukraine-2026

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[viz]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,viz]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/ceasefire run $(SCENARIO) --json out/$(SCENARIO).json --parquet out/$(SCENARIO).parquet
	$(BIN)/ceasefire report $(SCENARIO) -o out/$(SCENARIO).html
	@echo "report: $(CURDIR)/out/$(SCENARIO).html"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/mypy

test: $(VENV)/.installed-test lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,viz,bench]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-test

# the benchmark suite: bench/results/bench.md and bench.json (BENCH_QUICK=1 for smoke sizes)
bench: $(VENV)/.installed-bench
	BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python bench/run.py
