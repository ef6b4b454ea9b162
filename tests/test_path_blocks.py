"""Paths processed in blocks: a sample's numbers do not depend on how its blocks are grouped, and a
run with at most one block of paths per sample is the sample simulated whole."""

from __future__ import annotations

import itertools
from dataclasses import fields

import numpy as np
import pytest

import ceasefire.model.engine as engine
import ceasefire.run.experiment as experiment
from ceasefire.model.engine import Outcomes
from ceasefire.run.experiment import RunSpec, run
from ceasefire.scenario.load import load_scenario

BLOCK = 16


def _arrays(o: Outcomes) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for f in fields(o):
        value = getattr(o, f.name)
        for k, v in value.items() if isinstance(value, dict) else [("", value)]:
            out[f"{f.name}.{k}"] = np.asarray(v)
    return out


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PATH_BLOCK", BLOCK)
    monkeypatch.setattr(experiment, "PATH_BLOCK", BLOCK)


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return load_scenario("russia-ukraine-2026")


@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_grouping_of_blocks_does_not_change_numbers(small_blocks, scenario, monkeypatch, policy) -> None:  # type: ignore[no-untyped-def]
    spec = RunSpec.from_scenario(scenario, samples=3, paths=2 * BLOCK + 5, seed=5, horizon=14, policy=policy)
    one_at_a_time = run(scenario, spec, chunk_samples=1)
    monkeypatch.setattr(experiment, "blocks_per_group", lambda horizon, budget_bytes=0: 1)
    grouped = run(scenario, spec, chunk_samples=3)
    monkeypatch.setattr(experiment, "blocks_per_group", lambda horizon, budget_bytes=0: 4)
    all_together = run(scenario, spec, chunk_samples=2)
    _same(_arrays(one_at_a_time.outcomes), _arrays(grouped.outcomes))
    _same(_arrays(one_at_a_time.outcomes), _arrays(all_together.outcomes))
    assert one_at_a_time.outcomes.sample.tolist() == np.repeat(np.arange(3), spec.paths).tolist()


def test_first_block_is_the_sample_simulated_with_one_block_of_paths(small_blocks, scenario) -> None:  # type: ignore[no-untyped-def]
    base = RunSpec.from_scenario(scenario, samples=3, paths=BLOCK, seed=9, horizon=12, record=True)
    whole = run(scenario, base)
    blocked = run(
        scenario, RunSpec.from_scenario(scenario, samples=3, paths=3 * BLOCK, seed=9, horizon=12, record=True)
    )
    first = np.concatenate([np.arange(BLOCK) + i * 3 * BLOCK for i in range(3)])
    np.testing.assert_array_equal(blocked.candidates, whole.candidates)
    a, b = _arrays(whole.outcomes), _arrays(blocked.outcomes)
    for k in a:
        if k.startswith("monthly."):  # columns for each sample's first block only
            got = b[k]
        else:
            got = b[k][:, first] if k.startswith("trajectories") else b[k][first]
        assert got.tobytes() == a[k].tobytes(), k
    # the other blocks draw their own noise: not copies of the first
    second = first + BLOCK
    assert not np.array_equal(blocked.outcomes.casualties_total["A"][second], whole.outcomes.casualties_total["A"])


def test_blocks_cover_the_paths() -> None:
    for paths in (1, engine.PATH_BLOCK, engine.PATH_BLOCK + 1, 3 * engine.PATH_BLOCK - 7):
        blocks = engine.path_blocks(paths)
        assert blocks[0][0] == 0 and blocks[-1][1] == paths
        assert all(hi - lo <= engine.PATH_BLOCK for lo, hi in blocks)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))


def test_peace_value_in_blocks_is_the_whole_batch_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    from ceasefire.model import leader

    rng = np.random.default_rng(4)
    n, m = 257, 9
    args = (
        rng.uniform(0.001, 0.05, (n, 1)),
        rng.uniform(0.0, 0.3, (n, m)) * (rng.random((n, m)) < 0.8),  # some zero shocks: one term only
        rng.uniform(3.0, 24.0, (n, 1)),
        rng.uniform(1.0, 80.0, (n, m)),
        rng.uniform(0.9, 0.999, (n, 1)),
    )
    whole = leader.peace_value(*args)
    monkeypatch.setattr(leader, "PEACE_BLOCK", 50)  # rows of 5 elements each: blocks of 5 rows
    blocked = leader.peace_value(*args)
    assert blocked.shape == (n, m) and blocked.tobytes() == whole.tobytes()
    assert np.shape(leader.peace_value(*(np.float64(a.flat[0]) for a in args))) == ()
