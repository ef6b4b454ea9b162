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

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/mypy

test: $(VENV)/.installed-test lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench-lsm
bench-lsm: $(VENV)/.installed
	$(BIN)/pip install -q QuantLib
	$(BIN)/python bench/lsm_vs_quantlib.py
