"""Samples of many paths in the JAX backend: path blocks (``jax_engine.PATH_BLOCK``).

A sample of more paths than the path block is simulated as its first block (the whole model, the
leaders' rules fitted on that block's imagined wars) and later blocks of the true war keyed by
``fold_in(sample's key, block)``. The block is lowered to 128 paths here (the code reads it at call
time) so that a sample of 300 paths is three blocks (128, 128 and 44 paths) and the file stays small:
every test shares one configuration (the optimal policy, 12 months), so two programs are compiled.
The scenario is ``conftest.DEALS``, on which deals are made (the flagship, under Model 2, makes few).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from functools import cache
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from ceasefire.model import engine  # noqa: E402
from ceasefire.model.engine import Outcomes, RunConfig  # noqa: E402
from ceasefire.model.jax import engine as jax_engine  # noqa: E402
from ceasefire.run import experiment  # noqa: E402
from ceasefire.run.experiment import candidate_parameters  # noqa: E402
from ceasefire.run.sampling import Seeds, Values  # noqa: E402
from ceasefire.scenario.build import structure_of  # noqa: E402
from ceasefire.scenario.load import load_scenario  # noqa: E402
from ceasefire.scenario.schema import Scenario  # noqa: E402
from conftest import DEALS  # noqa: E402

BLOCK, PATHS, HORIZON, SEED = 128, 300, 12, 5
SAMPLES = 24
"""Samples of the comparison with NumPy (the other tests take a few of them)."""
CONFIG = RunConfig(horizon=HORIZON)
Z_MAX = 4.0
"""A difference of means passes within this many standard errors of the difference."""


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Path blocks of :data:`BLOCK` paths in the JAX backend (on the CPU, where these tests run)."""
    monkeypatch.setitem(jax_engine.PATH_BLOCK, "cpu", BLOCK)
    yield


@cache
def deals() -> Scenario:
    """:data:`conftest.DEALS` without the month-0 screen: both backends then simulate the same parameter
    samples."""
    sc = load_scenario(DEALS)
    return sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"no_deal_at_start": False})})


@cache
def inputs() -> tuple[Values, list[np.random.SeedSequence]]:
    seeds = Seeds.from_seed(SEED)
    return candidate_parameters(deals(), SAMPLES, seeds, 0), [seeds.path_seed(i) for i in range(SAMPLES)]


def simulate(pick: list[int] | range, paths: int, lever: dict[str, float] | None = None) -> Outcomes:
    values, seeds = inputs()
    rows = np.asarray(list(pick), dtype=np.int64)
    part = {k: v[rows] for k, v in values.items()}
    return jax_engine.simulate_blocks(structure_of(deals()), part, [seeds[i] for i in rows], paths, CONFIG, lever)


@cache
def whole(paths: int) -> Outcomes:
    """The first :data:`SAMPLES` samples at ``paths`` paths, block size :data:`BLOCK` (set by the caller)."""
    return simulate(range(SAMPLES), paths)


def arrays(o: Outcomes, samples: int, paths: int) -> dict[str, np.ndarray]:
    """Every output as ``(samples, paths, ...)`` (per-month outputs ``(months, samples, paths)``; the
    bargaining range's ``(months, samples, first block)``)."""
    out = {}
    for f in fields(o):
        value = getattr(o, f.name)
        for key, a in value.items() if isinstance(value, dict) else [("", value)]:
            a = np.asarray(a)
            monthly = f.name in ("monthly", "trajectories")
            shape = (a.shape[0], samples, -1) if monthly else (samples, paths, *a.shape[1:])
            out[f"{f.name}.{key}"] = a.reshape(shape)
    return out


def paths_of(a: dict[str, np.ndarray], name: str, sl: Any) -> np.ndarray:
    x = a[name]
    return x[:, :, sl] if name.startswith(("monthly.", "trajectories.")) else x[:, sl]


def same(x: np.ndarray, y: np.ndarray) -> bool:
    return x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")


# --------------------------------------------------------------------------------------------
# the structure


def test_blocks_of_a_sample() -> None:
    assert jax_engine.path_block("cpu") == BLOCK
    assert jax_engine.path_blocks(PATHS, "cpu") == [(0, 128), (128, 256), (256, 300)]
    assert jax_engine.path_blocks(BLOCK, "cpu") == [(0, BLOCK)]
    assert jax_engine.path_block("gpu") == jax_engine.GPU_PATH_BLOCK


def test_first_block_is_a_run_of_one_block() -> None:
    """The first path block of a sample of three blocks is, bit for bit, a run of exactly one block's
    paths (the same compiled call: the same rules, the same noise, the same bargaining range); the
    range has no columns for the later blocks (as in NumPy), on which deals are made too."""
    pick = [0, 5, 9]
    three, one = arrays(simulate(pick, PATHS), 3, PATHS), arrays(simulate(pick, BLOCK), 3, BLOCK)
    for name, x in one.items():
        assert same(paths_of(three, name, slice(0, BLOCK)), x), name
    assert three["monthly.range_low"].shape == (HORIZON, 3, BLOCK)
    assert three["monthly_paths."][:, :BLOCK].all() and not three["monthly_paths."][:, BLOCK:].any()
    assert np.isfinite(one["monthly.range_low"]).any()
    assert (three["first_settlement."][:, BLOCK:] >= 0).any()  # deals are made on the later blocks too


def test_a_run_of_k_blocks_is_the_start_of_a_longer_run() -> None:
    """Block ``b`` of a sample is keyed by the sample and ``b`` only: a run of 300 paths (its last block
    cut short) is, path for path, the first 300 paths of a run of 384 (three whole blocks); and the
    blocks draw their own noise (no block repeats another)."""
    pick = [2, 7]
    short, long = arrays(simulate(pick, PATHS), 2, PATHS), arrays(simulate(pick, 3 * BLOCK), 2, 3 * BLOCK)
    for name, x in short.items():
        if name != "sample.":
            assert same(x, paths_of(long, name, slice(0, PATHS))), name
    cas = long["casualties_total.A"]
    for b in (1, 2):
        assert not np.any(cas[:, :BLOCK] == cas[:, b * BLOCK : (b + 1) * BLOCK])


def test_samples_chunked_any_way_give_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """All the samples in one call, in chunks of 2 and 3, one by one and in another order, and with one call
    in flight at a time: each sample's paths are the same bits."""
    ref = arrays(whole(PATHS), SAMPLES, PATHS)
    monkeypatch.setattr(jax_engine, "MAX_IN_FLIGHT", 1)
    for chunks in ([[0, 1], [2, 3, 4], [5]], [[5, 3, 1], [4, 2, 0]]):
        for pick in chunks:
            got = arrays(simulate(pick, PATHS), len(pick), PATHS)
            for name, x in got.items():
                if name == "sample.":
                    continue
                expected = ref[name][:, pick] if name.startswith(("monthly.", "trajectories.")) else ref[name][pick]
                assert same(x, expected), (chunks, name)


# --------------------------------------------------------------------------------------------
# the same distributions as NumPy


def statistics(o: Outcomes) -> dict[str, np.ndarray]:
    first = o.first_settlement
    return {
        "settle within 6 months": (first >= 0) & (first < 6),
        "settle within 12 months": (first >= 0) & (first < 12),
        "casualties A (millions)": o.casualties_total["A"] / 1e6,
        "casualties B (millions)": o.casualties_total["B"] / 1e6,
        "casualties B to settlement (millions)": o.casualties_to_settlement["B"] / 1e6,
        "held at end (1000 km2)": o.held_at_end / 1e3,
        "A removed": o.removed["A"],
        "B removed": o.removed["B"],
        "at war at the horizon": o.at_war_at_end,
    }


def test_multi_block_samples_agree_with_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Samples of three path blocks, both backends with blocks of :data:`BLOCK` paths (so both fit the
    rules on that many imagined paths): the same parameter samples, independent noise. Per sample the
    difference of the means has mean zero; its standard error is ``sd / sqrt(samples)``. The range is
    recorded on the first block in both."""
    monkeypatch.setattr(engine, "PATH_BLOCK", BLOCK)
    monkeypatch.setattr(experiment, "PATH_BLOCK", BLOCK)
    values, seeds = inputs()
    a = experiment.simulate_samples(deals(), values, seeds, PATHS, CONFIG, {}, 0, workers=1)
    b = whole(PATHS)
    assert np.array_equal(a.sample, b.sample)
    left, right = statistics(a), statistics(b)
    checked = 0
    for name in left:
        means = [np.bincount(o.sample, weights=x.astype(float)) / PATHS for o, x in ((a, left[name]), (b, right[name]))]
        d = means[0] - means[1]
        se = d.std(ddof=1) / np.sqrt(SAMPLES)
        assert abs(d.mean()) <= Z_MAX * se + 1e-12, f"{name}: {d.mean():.4g} (se {se:.3g})"
        checked += se > 0
    assert checked >= 7
    assert min((o.first_settlement >= 0).mean() for o in (a, b)) > 0.02  # deals are made in both
    for o in (a, b):
        ranged = o.monthly_paths.reshape(SAMPLES, PATHS)
        assert ranged[:, :BLOCK].all() and not ranged[:, BLOCK:].any()
        assert o.monthly["range_low"].shape == (HORIZON, SAMPLES * BLOCK)
        assert np.isfinite(o.monthly["range_low"]).any()
