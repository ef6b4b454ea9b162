"""Sweeps, sensitivity and discovery on the JAX backend (on the CPU here; the same code runs on a GPU)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("jax")

from ceasefire.cli import app
from ceasefire.run.sweep import (
    SweepError,
    SweepSpec,
    default_chunk_rows,
    latin_hypercube,
    read_manifest,
    run_sweep,
)
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import Scenario
from conftest import DEALS

FLAGSHIP = "russia-ukraine-2026"
SMALL = {"paths": 16, "horizon": 6, "seed": 7}
"""One compiled program serves every small sweep of this file (the same paths, horizon and policy)."""


@cache
def flagship() -> Scenario:
    return load_scenario(FLAGSHIP)


@cache
def deals() -> Scenario:
    """:data:`conftest.DEALS`: the flagship, under Model 2, settles on under 1% of its paths."""
    return load_scenario(DEALS)


@cache
def design(rows: int = 5, scenario: str = "flagship") -> pd.DataFrame:
    return latin_hypercube(deals() if scenario == "deals" else flagship(), rows, seed=3)


def test_a_jax_sweep_runs_records_its_backend_and_resumes_only_as_jax(tmp_path: Path) -> None:
    spec = SweepSpec.from_scenario(flagship(), backend="jax", **SMALL)
    table = run_sweep(flagship(), design(), spec, out=tmp_path)
    assert len(table) == 5
    for m in ("p_settle_6", "deal_at_start", "p_at_war_end"):
        assert table[m].between(0.0, 1.0).all(), m
    assert read_manifest(tmp_path)["backend"] == "jax"
    again = run_sweep(flagship(), design(), spec, out=tmp_path, resume=True)
    pd.testing.assert_frame_equal(again, table)
    with pytest.raises(SweepError, match="backend"):
        run_sweep(flagship(), design(), SweepSpec.from_scenario(flagship(), **SMALL), out=tmp_path, resume=True)


def test_chunking_does_not_change_a_jax_sweep() -> None:
    """Every compiled call holds the same number of samples (padded): a row's numbers do not depend
    on the chunk it is in, nor on the rows beside it."""
    spec = SweepSpec.from_scenario(flagship(), backend="jax", **SMALL)
    whole = run_sweep(flagship(), design(), spec)
    assert default_chunk_rows(5, spec) >= 5  # a whole compiled call: one chunk here
    for rows in (1, 2):
        pd.testing.assert_frame_equal(run_sweep(flagship(), design(), spec, chunk_rows=rows), whole)
    alone = run_sweep(flagship(), design().iloc[[3]].reset_index(drop=True), spec)
    assert alone.iloc[0].equals(whole.iloc[3])


def test_jax_and_numpy_sweeps_agree_within_monte_carlo_error() -> None:
    """Row by row, the probability of a settlement within 12 months from 400 paths of each backend
    (their own random numbers): within 4.5 standard errors of the difference of two binomial shares. On a
    scenario where deals are made."""
    paths = 400
    base = {"paths": paths, "horizon": 12, "seed": 11, "policy": "myopic", "metrics": ("p_settle_12",)}
    rows = design(6, "deals")
    got = {
        b: run_sweep(deals(), rows, SweepSpec.from_scenario(deals(), backend=b, **base))["p_settle_12"]
        for b in ("numpy", "jax")
    }
    p_np, p_jax = got["numpy"].to_numpy(), got["jax"].to_numpy()
    se = np.sqrt((p_np * (1 - p_np) + p_jax * (1 - p_jax)) / paths)
    assert np.all(np.abs(p_np - p_jax) <= 4.5 * np.maximum(se, 1.0 / paths)), (p_np, p_jax)
    assert (p_np > 0).any() and (p_np < 1).any()  # not a comparison of degenerate rows only


def test_cli_sweep_and_sensitivity_take_the_backend(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["sweep", FLAGSHIP, "--out", str(tmp_path / "s"), "-n", "3", "--backend", "jax", "-q"]
        + [f"--{k}={v}" for k, v in SMALL.items()],
    )
    assert out.exit_code == 0, out.output
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["backend"] == "jax"
    bad = runner.invoke(app, ["sensitivity", FLAGSHIP, "--backend", "cuda", "-q"])
    assert bad.exit_code == 2
    assert "unknown backend 'cuda'" in bad.output and "numpy, jax" in bad.output


def test_backend_names_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        SweepSpec.from_scenario(flagship(), backend="torch").validate()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    out = CliRunner().invoke(app, ["sensitivity", FLAGSHIP, "--backend", "jax", "-q"])
    assert out.exit_code == 2 and "pip install 'ceasefire[jax]'" in " ".join(out.output.split())
