"""Reproducible everywhere: the same scenario, seed and version give the same bits.

Across repeated runs, chunk sizes, fresh interpreters (another hash seed), process pools of
different sizes and Dask clusters of different sizes (worker *processes*); and the manifest
says what a result was made from, so that ``--resume`` refuses to mix results.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ceasefire import __version__
from ceasefire.cli import app
from ceasefire.model.engine import Outcomes
from ceasefire.run import sweep as sweep_module
from ceasefire.run.executor import ProcessExecutor, executor_for
from ceasefire.run.experiment import RunSpec, run
from ceasefire.run.sweep import SweepError, SweepSpec, latin_hypercube, run_sweep
from ceasefire.scenario.load import LIBRARY, load_scenario

FLAGSHIP = "russia-ukraine-2026"
FILE = LIBRARY / f"{FLAGSHIP}.toml"
SIZES = {"samples": 7, "paths": 8, "horizon": 12, "seed": 11}
runner = CliRunner()


def digest(outcomes: Outcomes) -> str:
    """SHA-256 over every outcome array's bytes, in a fixed order."""
    h = hashlib.sha256()
    for name in sorted(outcomes.__dataclass_fields__):
        value = getattr(outcomes, name)
        items = sorted(value.items()) if isinstance(value, dict) else [("", value)]
        for key, arr in items:
            arr = np.ascontiguousarray(arr)
            h.update(f"{name}.{key}:{arr.dtype}:{arr.shape}".encode())
            h.update(arr.tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sc() -> Any:
    return load_scenario(FLAGSHIP)


@pytest.fixture(scope="module", params=["optimal", "myopic"])
def reference(request: pytest.FixtureRequest, sc: Any) -> Any:
    return run(sc, RunSpec.from_scenario(sc, **SIZES, policy=request.param))


# -- one run ------------------------------------------------------------------------------------


def test_same_seed_same_bits_twice(sc: Any, reference: Any) -> None:
    again = run(sc, reference.spec)
    assert digest(again.outcomes) == digest(reference.outcomes)
    for k, v in reference.parameters.items():
        assert again.parameters[k].tobytes() == v.tobytes(), k
    assert np.array_equal(again.candidates, reference.candidates)


def test_another_seed_other_numbers(sc: Any, reference: Any) -> None:
    other = run(sc, RunSpec.from_scenario(sc, **{**SIZES, "seed": 12}, policy=reference.spec.policy))
    assert digest(other.outcomes) != digest(reference.outcomes)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 100])
def test_chunk_size_does_not_change_a_bit(sc: Any, reference: Any, chunk: int) -> None:
    """Also through the month-0 screen (the flagship has no_deal_at_start): the kept samples are the same."""
    chunked = run(sc, reference.spec, chunk_samples=chunk)
    assert np.array_equal(chunked.candidates, reference.candidates)
    assert digest(chunked.outcomes) == digest(reference.outcomes)


def test_levers_on_common_samples_do_not_depend_on_chunks(sc: Any, reference: Any) -> None:
    from dataclasses import replace

    spec = replace(reference.spec, levers={"more-military-aid": 1.0})
    a = run(sc, spec, samples_of=reference, chunk_samples=2)
    b = run(sc, spec, samples_of=reference, chunk_samples=5)
    assert digest(a.outcomes) == digest(b.outcomes) != digest(reference.outcomes)


_CHILD = """
import hashlib, sys, numpy as np
sys.path.insert(0, {tests!r})
from test_reproducible import digest
from ceasefire.scenario.load import load_scenario
from ceasefire.run.experiment import RunSpec, run
sc = load_scenario({name!r})
r = run(sc, RunSpec.from_scenario(sc, policy={policy!r}, **{sizes!r}), chunk_samples={chunk})
print(digest(r.outcomes))
"""


def test_a_fresh_interpreter_gives_the_same_bits(sc: Any) -> None:
    """Another process, another hash seed, another chunk size, one thread or several for BLAS."""
    reference = run(sc, RunSpec.from_scenario(sc, **SIZES, policy="optimal"))
    code = _CHILD.format(tests=str(Path(__file__).parent), name=FLAGSHIP, policy="optimal", sizes=SIZES, chunk=3)
    results = set()
    for hash_seed, threads in (("1", "1"), ("12345", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        results.add(proc.stdout.strip())
    assert results == {digest(reference.outcomes)}


# -- the run's manifest --------------------------------------------------------------------------


def test_run_manifest_records_what_the_result_was_made_from(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["run", FLAGSHIP, "--samples", "3", "--paths", "4", "--horizon", "12", "--seed", "9", "-q"]
    result = runner.invoke(app, [*args, "--json", str(out), "--no-compare-beliefs"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.read_text())["manifest"]
    assert manifest["scenario_sha256"] == hashlib.sha256(FILE.read_bytes()).hexdigest()
    assert manifest["seed"] == 9 and manifest["version"] == __version__ and manifest["backend"]
    assert (manifest["samples"], manifest["paths"], manifest["horizon"]) == (3, 4, 12)
    # the same command again: the same document, bit for bit, but for the wall time it took
    out2 = tmp_path / "r2.json"
    assert runner.invoke(app, [*args, "--json", str(out2), "--no-compare-beliefs"]).exit_code == 0
    first, second = json.loads(out.read_text()), json.loads(out2.read_text())
    assert first["summary"].pop("seconds") >= 0 and second["summary"].pop("seconds") >= 0
    assert json.dumps(first) == json.dumps(second)


# -- sweeps ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep_spec(sc: Any) -> SweepSpec:
    return SweepSpec.from_scenario(sc, paths=6, horizon=12, seed=4, policy="myopic")


@pytest.fixture(scope="module")
def design(sc: Any) -> pd.DataFrame:
    d = latin_hypercube(sc, 9, seed=2)
    d["lever:carrot"] = [0.0, 1.0, 0.0, 0.5, 0.0, 1.0, 0.0, 0.0, 0.25]
    return d


@pytest.fixture(scope="module")
def sweep_reference(sc: Any, design: pd.DataFrame, sweep_spec: SweepSpec) -> pd.DataFrame:
    return run_sweep(sc, design, sweep_spec, chunk_rows=9)


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return list(a.columns) == list(b.columns) and a.to_numpy().tobytes() == b.to_numpy().tobytes()


def test_process_and_dask_worker_counts_do_not_change_a_bit(
    sc: Any, design: pd.DataFrame, sweep_spec: SweepSpec, sweep_reference: pd.DataFrame
) -> None:
    """In-process (the reference, one chunk), a pool of two processes, and a Dask cluster of two worker
    *processes* (not threads), each with another chunk size."""
    from distributed import LocalCluster

    pool = run_sweep(sc, design, sweep_spec, executor=ProcessExecutor(2), chunk_rows=1)
    assert same(pool, sweep_reference)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        dask = run_sweep(
            sc, design, sweep_spec, executor=executor_for(scheduler=cluster.scheduler_address), chunk_rows=2
        )
    assert same(dask, sweep_reference)


def test_sweep_manifest_records_hash_seed_version_backend(
    sc: Any, design: pd.DataFrame, sweep_spec: SweepSpec, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    run_sweep(sc, design.iloc[:2], sweep_spec, out=out)
    manifest = json.loads((out / "manifest.json").read_text())
    digest = manifest["scenario_model_sha256"]
    assert digest == sweep_module.scenario_digest(sc) and len(digest) == 64
    assert manifest["seed"] == 4 and manifest["version"] == __version__ and manifest["backend"] == "numpy"
    assert manifest["design_sha256"] == sweep_module.design_hash(sweep_module.check_design(sc, design.iloc[:2]))


def _refused(
    sc: Any, design: pd.DataFrame, spec: SweepSpec, out: Path, needle: str
) -> None:  # pragma: no cover - helper
    with pytest.raises(SweepError, match="cannot resume") as info:
        run_sweep(sc, design, spec, out=out, resume=True)
    assert needle in str(info.value)
    assert "Traceback" not in str(info.value)


def test_resume_refuses_results_of_another_manifest(
    sc: Any, design: pd.DataFrame, sweep_spec: SweepSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    out = tmp_path / "s"
    small = design.iloc[:2]
    run_sweep(sc, small, sweep_spec, out=out)
    parts = {p.name: p.read_bytes() for p in out.iterdir()}
    _refused(sc, small, replace(sweep_spec, seed=5), out, "seed")
    _refused(sc, small, replace(sweep_spec, paths=7), out, "paths")
    _refused(sc, small, replace(sweep_spec, policy="optimal"), out, "policy")
    _refused(sc, small, replace(sweep_spec, metrics=("p_settle_12",)), out, "metrics")
    _refused(sc, design.iloc[:3], sweep_spec, out, "design_sha256")
    # another scenario: the same file with one number changed
    text = FILE.read_text(encoding="utf-8").replace("gain_sd_km2 = { value = 130,", "gain_sd_km2 = { value = 131,")
    edited = tmp_path / "edited.toml"
    edited.write_text(text, encoding="utf-8")
    _refused(load_scenario(edited), small, sweep_spec, out, "scenario_model_sha256")
    # another version of ceasefire, another backend
    monkeypatch.setattr(sweep_module, "__version__", "0.0.0-other")
    _refused(sc, small, sweep_spec, out, "version")
    monkeypatch.undo()
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "backend": "jax"}))
    _refused(sc, small, sweep_spec, out, "backend")
    (out / "manifest.json").write_bytes(parts["manifest.json"])
    # nothing refused was touched
    assert {p.name: p.read_bytes() for p in out.iterdir()} == parts
    # and the right sweep still resumes
    assert len(run_sweep(sc, small, sweep_spec, out=out, resume=True)) == 2


def test_cli_resume_with_another_seed_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "s"
    args = ["sweep", FLAGSHIP, "--out", str(out), "-n", "2", "--paths", "4", "--horizon", "12", "--policy", "myopic",
            "--workers", "1", "-q"]  # fmt: skip
    assert runner.invoke(app, [*args, "--seed", "1"]).exit_code == 0
    result = runner.invoke(app, [*args, "--seed", "2", "--resume"])
    assert result.exit_code == 2
    assert result.output.lstrip().startswith("error:") and "cannot resume" in result.output
    assert "Traceback" not in result.output
