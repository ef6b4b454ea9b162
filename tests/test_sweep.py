"""Sweeps: rows independent of chunking, workers and executor; common random numbers; resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.model.engine import per_path
from ceasefire.run.executor import ProcessExecutor, executor_for
from ceasefire.run.experiment import chunk_size_for
from ceasefire.run.sampling import Seeds
from ceasefire.run.sweep import (
    CHUNK_PATHS,
    METRICS,
    MetricInput,
    SweepError,
    SweepSpec,
    default_chunk_rows,
    latin_hypercube,
    model_factors,
    run_sweep,
)
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import iter_params
from conftest import simulate_flat

FLAGSHIP = "russia-ukraine-2026"


@pytest.fixture(scope="module")
def sc():  # type: ignore[no-untyped-def]
    return load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def spec(sc):  # type: ignore[no-untyped-def]
    return SweepSpec.from_scenario(sc, paths=8, horizon=12, seed=7)


@pytest.fixture(scope="module")
def design(sc) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    d = latin_hypercube(sc, 8, seed=3)
    d["lever:more-military-aid"] = [0.0, 1.0, 0.5, 0.0, 1.0, 0.0, 0.25, 0.0]
    return d


@pytest.fixture(scope="module")
def reference(sc, spec, design) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return run_sweep(sc, design, spec, chunk_rows=8)


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Bit-identical, NaN included."""
    return list(a.columns) == list(b.columns) and a.to_numpy().tobytes() == b.to_numpy().tobytes()


@pytest.mark.parametrize("chunk", [1, 3])
def test_rows_are_bit_identical_whatever_the_chunk_size(sc, spec, design, reference, chunk) -> None:  # type: ignore[no-untyped-def]
    assert same(run_sweep(sc, design, spec, chunk_rows=chunk), reference)
    # a row alone, out of its chunk, is the same too
    alone = run_sweep(sc, design.iloc[[5]].reset_index(drop=True), spec)
    assert alone.to_numpy().tobytes() == reference.iloc[[5]].to_numpy().tobytes()


def test_a_row_is_the_engine_on_the_common_paths(sc, spec, design, reference) -> None:  # type: ignore[no-untyped-def]
    """Row 3 (no lever) recomputed straight from the engine with the sweep's path seed."""
    values = {p: np.array([design[p][3] if p in design else par.nominal()]) for p, par in iter_params(sc)}
    seed = Seeds.from_seed(spec.seed).path_seed(0)
    o = simulate_flat(sc, per_path(values, spec.paths), [seed], spec.paths, spec.config())
    first = o.first_settlement
    assert reference.loc[3, "p_settle_12"] == ((first >= 0) & (first < 12)).mean()
    assert reference.loc[3, "p_settle_6"] == ((first >= 0) & (first < 6)).mean()
    assert reference.loc[3, "casualties_B"] == pytest.approx(o.casualties_total["B"].mean(), rel=1e-12)
    assert reference.loc[3, "p_removed_A"] == o.removed["A"].mean()


@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_rows_do_not_record_the_bargaining_range_and_lose_nothing_by_it(sc, design, policy) -> None:  # type: ignore[no-untyped-def]
    """No metric reads the range, so a sweep does not record it; every metric is the same bits as
    computed from the engine with the range recorded (the library's default)."""
    # the flagship's whole horizon: under Model 2 its deals come late (none within 12 or 36 months
    # on these rows), and the comparison needs decisions taken
    spec = SweepSpec.from_scenario(sc, paths=40, horizon=60, seed=7, policy=policy)
    assert not spec.config().bargaining_range
    rows = design.drop(columns=["lever:more-military-aid"]).iloc[:4].reset_index(drop=True)
    table = run_sweep(sc, rows, spec)
    values = {p: np.asarray(rows[p]) if p in rows else np.full(4, par.nominal()) for p, par in iter_params(sc)}
    seed = Seeds.from_seed(spec.seed).path_seed(0)
    ranged = replace(spec.config(), bargaining_range=True)
    o = simulate_flat(sc, per_path(values, spec.paths), [seed] * 4, spec.paths, ranged)
    assert o.monthly  # the range was recorded there
    view = MetricInput(o, 4, spec.paths, spec.horizon, values)
    for m in spec.metrics_for():
        assert table[m].to_numpy().tobytes() == METRICS[m].compute(view).tobytes(), m
    assert (table["p_settle_horizon"] > 0).any()  # decisions were taken: the comparison has teeth


def test_default_chunks_are_large_enough_to_pay_for_a_call_and_leave_every_worker_work(sc) -> None:  # type: ignore[no-untyped-def]
    spec = SweepSpec.from_scenario(sc, paths=100)
    # a default sensitivity's Morris screen on two workers: 12 chunks of at most about 8,192 paths,
    # six for each worker, not 32 of 28 rows
    size = default_chunk_rows(890, spec, 2)
    assert math.ceil(890 / size) == 12 and size * 100 <= CHUNK_PATHS
    assert default_chunk_rows(890, spec, None) == math.ceil(890 / 32)  # workers unknown (Dask)
    for rows, workers in ((64, 2), (7, 2), (40, 1), (1, 4), (960, 2), (5000, 3), (100_000, 4)):
        size = default_chunk_rows(rows, spec, workers)
        chunks = math.ceil(rows / size)
        assert chunks >= min(rows, 2 * workers)  # two chunks for each worker, where rows allow
        budget = chunk_size_for(100, spec.horizon, "optimal")  # rows a chunk may hold in memory
        assert chunks <= max(32 + workers, 2 * workers, math.ceil(rows / budget))
        if budget * 32 > rows >= 16 * workers:  # rows enough: each worker gets the same number of chunks
            assert chunks % workers == 0, (rows, workers, size)
    big = SweepSpec.from_scenario(sc, paths=4096, horizon=600)
    assert default_chunk_rows(10_000, big, 2) == chunk_size_for(4096, 600, "optimal")  # the memory budget


def test_common_random_numbers_equal_rows_equal_numbers(sc, spec) -> None:  # type: ignore[no-untyped-def]
    d = latin_hypercube(sc, 2, seed=11)
    twice = pd.concat([d, d], ignore_index=True)
    twice["lever:carrot"] = 0.0  # a lever column at zero is no lever
    t = run_sweep(sc, twice, spec, chunk_rows=3)
    assert t.iloc[0:2].to_numpy().tobytes() == t.iloc[2:4].to_numpy().tobytes()
    # a design with no column at all: every row at the nominal values, hence identical
    nominal = run_sweep(sc, pd.DataFrame(index=range(3)), spec)
    assert (nominal.nunique(dropna=False) == 1).all()


def test_metrics_are_consistent(reference) -> None:  # type: ignore[no-untyped-def]
    r = reference
    assert (r["p_settle_6"] <= r["p_settle_12"]).all() and (r["p_settle_12"] <= r["p_settle_horizon"]).all()
    assert (r["casualties_to_settlement_A"] <= r["casualties_A"] + 1e-6).all()
    for m in ("p_settle_12", "p_removed_A", "p_removed_B", "p_at_war_end", "deal_at_start"):
        assert r[m].between(0, 1).all()
    assert "p_settle_24" not in r.columns  # beyond a 12-month horizon
    assert ((r["months_at_war"] >= 0) & (r["months_at_war"] <= 12)).all()


def test_one_and_two_workers_and_dask_agree(sc, spec, design, reference) -> None:  # type: ignore[no-untyped-def]
    from distributed import LocalCluster

    two = run_sweep(sc, design, spec, executor=ProcessExecutor(2), chunk_rows=2)
    assert same(two, reference)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dask = run_sweep(sc, design, spec, executor=executor_for(scheduler=cluster.scheduler_address), chunk_rows=3)
        ex = executor_for(scheduler=cluster.scheduler_address)
        assert ex.workers is None  # not connected: not known
        with ex:
            assert ex.workers == 2  # the cluster's threads, once connected
            chunked = []
            by_default = run_sweep(sc, design, spec, executor=ex, progress=lambda done, _: chunked.append(done))
            assert ex.workers == 2  # the sweep's own with block kept the connection
    assert same(dask, reference) and same(by_default, reference)
    done = [d for d in chunked if d > 0]  # one report per chunk finished (after one of none done)
    assert len(done) == math.ceil(len(design) / default_chunk_rows(len(design), spec, 2))  # sized for 2 workers


def test_an_executor_entered_around_several_sweeps_keeps_its_processes(sc, spec, design, reference) -> None:  # type: ignore[no-untyped-def]
    """`ceasefire sensitivity` runs its screen's sweep and its main one on the same worker processes."""
    ex = ProcessExecutor(2)
    with ex:
        pool = ex._pool
        first = run_sweep(sc, design, spec, executor=ex, chunk_rows=4)
        assert ex._pool is pool  # the sweep's own with block neither replaced nor closed it
        second = run_sweep(sc, design, spec, executor=ex, chunk_rows=3)
        assert ex._pool is pool
    assert ex._pool is None  # released when the outermost block ends
    assert same(first, reference) and same(second, reference)


def test_resume_after_an_interruption_is_bit_identical(sc, spec, design, reference, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sweep"

    def stop_after_two(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sc, design, spec, chunk_rows=1, out=out, progress=stop_after_two)
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    assert parts == ["part-00000.parquet", "part-00001.parquet"]
    # a torn temporary file from a killed writer, and a damaged part: both cleaned up or recomputed
    (out / ".part-00002.parquet.abc123.tmp").write_bytes(b"half")
    (out / "part-00001.parquet").write_bytes(b"not parquet")
    before = (out / "part-00000.parquet").stat().st_mtime_ns
    seen: list[int] = []
    resumed = run_sweep(sc, design, spec, out=out, resume=True, progress=lambda d, t: seen.append(d))
    assert same(resumed, reference)
    assert seen[0] == 1  # part 0 was kept, not recomputed
    assert (out / "part-00000.parquet").stat().st_mtime_ns == before
    assert not list(out.glob(".*.tmp"))
    results = pd.read_parquet(out / "results.parquet")
    assert np.array_equal(results["p_settle_12"].to_numpy(), reference["p_settle_12"].to_numpy())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["chunk_rows"] == 1 and len(manifest["scenario_model_sha256"]) == 64
    assert manifest["metrics"] == list(reference.columns)


def test_a_folder_of_another_sweep_is_refused(sc, spec, design, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "s"
    small = design.iloc[:2]
    run_sweep(sc, small, spec, out=out)
    with pytest.raises(SweepError, match="already holds a sweep"):
        run_sweep(sc, small, spec, out=out)
    other = SweepSpec.from_scenario(sc, paths=8, horizon=12, seed=8)
    with pytest.raises(SweepError, match=r"cannot resume.*seed: folder has 7, this sweep 8"):
        run_sweep(sc, small, other, out=out, resume=True)
    with pytest.raises(SweepError, match="design_sha256"):
        run_sweep(sc, design.iloc[:3], spec, out=out, resume=True)


def test_bad_designs_say_what_is_wrong(sc, spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"'exchange_ratio' is neither a parameter.*attrition.exchange_ratio"):
        run_sweep(sc, pd.DataFrame({"exchange_ratio": [2.0]}), spec)
    with pytest.raises(ValueError, match=r"ceasefire.breakdown': row 1 has 1.5, outside .*\[0, 1\]"):
        run_sweep(sc, pd.DataFrame({"ceasefire.breakdown": [0.005, 1.5]}), spec)
    with pytest.raises(ValueError, match=r"lever:carrot': row 0 has intensity 9"):
        run_sweep(sc, pd.DataFrame({"lever:carrot": [9.0]}), spec)
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        SweepSpec.from_scenario(sc, metrics=["nope"]).validate()
    with pytest.raises(ValueError, match="p_settle_36' needs a horizon of at least 36"):
        SweepSpec.from_scenario(sc, horizon=12, metrics=["p_settle_36"]).validate()


def test_model_factors_leave_out_levers_not_applied(sc) -> None:  # type: ignore[no-untyped-def]
    base = model_factors(sc)
    assert not any(p.startswith("levers.") for p in base)
    assert len(base) == sum(not p.is_fixed and not k.startswith("levers.") for k, p in iter_params(sc))
    aid = model_factors(sc, ["more-military-aid"])
    assert set(aid) - set(base) == {"levers.more-military-aid.per_unit", "levers.more-military-aid.credibility"}
    assert set(METRICS) >= {"p_settle_12", "p_settle_36", "median_month", "casualties_A", "p_holds_2y"}


def test_a_killed_cli_sweep_resumes_to_the_same_numbers(sc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the command after its first parts appear, then --resume: identical to an uninterrupted run."""
    out = tmp_path / "killed"
    args = [FLAGSHIP, "--out", str(out), "-n", "24", "--paths", "16", "--horizon", "12", "--seed", "5",
            "--chunk-rows", "1", "--workers", "1", "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "ceasefire", "sweep", *args], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(out.glob("part-*.parquet"))) < 2:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    kept = len(list(out.glob("part-*.parquet")))
    assert 2 <= kept < 24, f"{kept} parts when killed"
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", *args, "--resume"])
    assert result.exit_code == 0, result.output
    resumed = pd.read_parquet(out / "results.parquet")
    spec = SweepSpec.from_scenario(sc, paths=16, horizon=12, seed=5)
    fresh = run_sweep(sc, latin_hypercube(sc, 24, seed=5), spec, chunk_rows=7)
    assert resumed[list(fresh.columns)].to_numpy().tobytes() == fresh.to_numpy().tobytes()
    again = runner.invoke(app, ["sweep", *args[:-1], "--seed", "6", "--resume", "-q"])
    assert again.exit_code == 2 and "cannot resume" in again.output


def test_p_holds_is_each_rows_kaplan_meier_survival_as_the_run_summary_gives_it() -> None:
    """Not ``(1 - break rate)^m``, an input restated: the survival the row's simulated ceasefires show."""
    from types import SimpleNamespace

    from ceasefire.run.summary import survival_at

    rng = np.random.default_rng(3)
    rows, paths = 40, 9
    first = np.where(rng.random(rows * paths) < 0.6, rng.integers(0, 20, rows * paths), -1)
    months = np.where(first >= 0, rng.integers(0, 30, rows * paths), 0)
    broke = (first >= 0) & (rng.random(rows * paths) < rng.uniform(0, 1, rows).repeat(paths))
    broke[:paths] = first[:paths] >= 0  # row 0: every ceasefire broke
    months[:paths] = np.minimum(months[:paths], 5)
    outcomes = SimpleNamespace(first_settlement=first, ceasefire_months=months, ceasefire_broke=broke)
    m = MetricInput(outcomes, rows, paths, 36, {})  # type: ignore[arg-type]
    for name, horizon in (("p_holds_1y", 12), ("p_holds_2y", 24)):
        got = METRICS[name].compute(m)
        for r in range(rows):
            cf = slice(r * paths, (r + 1) * paths)
            sel = first[cf] >= 0
            want = survival_at(months[cf][sel], broke[cf][sel], horizon)
            assert math.isnan(got[r]) if want is None else got[r] == pytest.approx(want, abs=1e-12), (name, r)
        assert got[0] == 0.0  # all broke within 5 months: held by none, not unknown
