"""The benchmark suite runs end to end at tiny sizes (``BENCH_QUICK``) and writes a sound report."""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _suite() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("ceasefire_bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("bench")
    rows = ["engine", "scaling", "plain_python", "memory", "report", "jax"]
    if importlib.util.find_spec("QuantLib") is not None:
        rows.append("lsm_vs_quantlib")
    assert _suite().main(["--quick", "--out", str(out), "--only", *rows]) == 0
    return json.loads((out / "bench.json").read_text()), (out / "bench.md").read_text()


def test_engine_rows_are_consistent(report) -> None:  # type: ignore[no-untyped-def]
    data, markdown = report
    assert data["quick"] is True
    for r in data["rows"]["engine"]["rows"]:
        assert r["path_steps"] == r["samples"] * r["paths_per_sample"] * r["horizon"]
        assert r["path_steps_per_s"] == pytest.approx(r["path_steps"] / r["seconds"], rel=0.5)
        assert 0 < r["ratio_to_rng"] < 1  # nothing outruns drawing its own random numbers
    assert "## Engine throughput" in markdown and "## Scaling" in markdown
    scaling = data["rows"]["scaling"]
    assert [r["horizon"] for r in scaling["by_horizon"]] == sorted(r["horizon"] for r in scaling["by_horizon"])
    assert scaling["by_terms"][0]["time_ratio_to_first"] == 1.0


def test_plain_python_and_memory_rows(report) -> None:  # type: ignore[no-untyped-def]
    data, markdown = report
    p = data["rows"]["plain_python"]
    assert p["speedup"] == pytest.approx(p["engine_path_steps_per_s"] / p["plain_path_steps_per_s"], rel=1.0)
    assert p["speedup"] > 1
    (mem,) = data["rows"]["memory"]["rows"]
    assert "error" not in mem, mem
    assert 50 < mem["peak_rss_mib"] < 4096
    assert "## Against plain Python" in markdown and "## Peak memory" in markdown


def test_report_row_times_the_command_on_every_core_and_on_one(report) -> None:  # type: ignore[no-untyped-def]
    data, markdown = report
    r = data["rows"]["report"]
    assert r["available"], r
    assert r["bytes"] > 100_000  # a self-contained page, Plotly embedded
    for run in (r["all_cores"], r["one_core"]):
        assert run["rc"] == 0 and run["seconds"] > 0 and run["peak_rss_mib"] > 50
    assert r["speedup_all_cores"] == pytest.approx(r["one_core"]["seconds"] / r["all_cores"]["seconds"])
    runs = r["all_cores"]["runs_s"]
    assert len(runs) == 2 and r["all_cores"]["seconds"] == pytest.approx(statistics.median(runs))  # quick: 2 repeats
    assert r["all_cores"]["cpu_s"] > 0 and r["target_s"] == 180
    assert r["within_target"] == (r["all_cores"]["seconds"] < 180)
    assert "## `ceasefire report` of the flagship" in markdown and "Target: under 180 s on 2 cores" in markdown


def test_optional_rows_say_why_when_absent(report) -> None:  # type: ignore[no-untyped-def]
    data, markdown = report
    assert data["rows"]["jax"]["available"] is False and data["rows"]["jax"]["why"]
    if "lsm_vs_quantlib" in data["rows"]:
        for r in data["rows"]["lsm_vs_quantlib"]["rows"]:
            assert abs(r["value"]["ours"] - 4.478) < 5 * r["stderr"]["ours"] + 0.02
            assert r["speedup_equal_paths"] > 0
    assert "## JAX backend" in markdown


def test_terms_can_be_repeated_for_the_scaling_row() -> None:
    suite = _suite()
    sc = suite.scenario_with_terms(6)
    ids = [t.id for t in sc.terms]
    assert len(ids) == 6 == len(set(ids))
    assert [t.id for t in suite.scenario_with_terms(2).terms] == ids[:2]


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="the jax extra is not installed")
def test_gpu_check_dry_run_times_a_sensitivity(tmp_path: Path) -> None:
    """``bench/gpu_check.sh``, the prepared GPU measurement, still runs against this code: its dry mode
    (tiny sizes, on the CPU) times a sensitivity analysis on the JAX backend and summarizes it."""
    env = {
        **os.environ,
        "GPU_CHECK_DRY": "1",
        "GPU_CHECK_STEPS": "sobol",
        "GPU_CHECK_PYTHON": sys.executable,
        "GPU_CHECK_WHEELS": str(tmp_path / "no-wheels"),
        "OUT": str(tmp_path / "out"),
    }
    done = subprocess.run(["bash", str(BENCH / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "imports: exit 0" in summary and "sobol: exit 0" in summary
    assert "sobol-gpu.json: " in summary and "points x 64 paths" in summary
    sobol = json.loads((tmp_path / "out" / "sobol-gpu.json").read_text())
    assert sobol["paths"] == 64 and sobol["rows"]
