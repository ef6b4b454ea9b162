PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= russia-ukraine-2026

.PHONY: run test lint chromium bench clean gpu-wheels

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
	$(BIN)/ceasefire run $(SCENARIO) --mkdir --json out/$(SCENARIO).json --parquet out/$(SCENARIO).parquet
	$(BIN)/ceasefire report $(SCENARIO) --mkdir -o out/$(SCENARIO).html
	@echo "report: $(CURDIR)/out/$(SCENARIO).html"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# the browser tests drive Debian's Chromium: installed here when it is missing
chromium:
	@bash scripts/ensure-chromium.sh

# ruff, mypy, then pytest: tests/ and the notebooks in examples/ (nbmake), in parallel on
# every core, a test file per process (pytest-xdist; the 25 slowest tests are listed at the end)
test: $(VENV)/.installed-test lint chromium
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=25

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,viz,bench]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-test

# the benchmark suite: bench/results/bench.md and bench.json (BENCH_QUICK=1 for smoke sizes)
bench: $(VENV)/.installed-bench
	BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python bench/run.py

# Wheels of the packages that `ceasefire sensitivity --backend jax` and bench/jax_backend.py import
# but the lent GPU machine's image lacks (docs/jax-backend.md, "On a lent GPU"), for its Python, at
# this venv's versions (latest where the venv lacks one). typing_extensions travels too: pydantic
# needs a newer one than the image may have.
GPU_WHEELS := pydantic pydantic_core annotated-types typing-inspection typing_extensions lark SALib multiprocess dill
GPU_PY ?= 3.12
WHL ?= .whl
GPU_PIN_PY := $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PY))

gpu-wheels:
	rm -rf $(WHL) && mkdir -p $(WHL)
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version $(GPU_PY) --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
	  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d $(WHL) \
	  $$($(GPU_PIN_PY) -c 'import importlib.metadata as m, sys;\
	  print(*(n + "==" + m.version(n) if any(True for _ in m.distributions(name=n)) else n for n in sys.argv[1:]))' \
	  $(GPU_WHEELS))
	@ls -s $(WHL) && du -sh $(WHL)
