"""The JAX backend against the NumPy engine: exact in a deterministic limit, the same distributions
within Monte Carlo error, reproducible for a seed and independent of how samples are batched.

Compiling the jitted model takes most of this file's time, so the tests share a few shapes: 30 samples
(padded to 32) x 40 paths x 24 months, each policy compiled once per scenario. The war alone, with levers,
is the flagship's; decisions are compared on ``conftest.DEALS``, on which Model 2's leaders make deals
(the flagship settles on under 1% of its paths).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache, partial
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from ceasefire.model.engine import Outcomes, RunConfig, per_path  # noqa: E402
from ceasefire.model.jax import engine as jax_engine  # noqa: E402
from ceasefire.run.experiment import RunResult, RunSpec, candidate_parameters, run  # noqa: E402
from ceasefire.run.sampling import Seeds, Values  # noqa: E402
from ceasefire.run.store import manifest  # noqa: E402
from ceasefire.scenario.load import load_scenario  # noqa: E402
from ceasefire.scenario.schema import SIDES, Scenario  # noqa: E402
from conftest import DEALS, simulate_flat, simulate_jax_flat  # noqa: E402

SAMPLES, PATHS, HORIZON, SEED = 30, 40, 24, 11
Z_MAX = 4.0
"""A difference of means passes within this many standard errors of the difference."""


@cache
def flagship() -> Scenario:
    """The flagship without the month-0 screen: both backends then simulate the same parameter samples."""
    return without_screen(load_scenario("russia-ukraine-2026"))


@cache
def deals() -> Scenario:
    """:data:`conftest.DEALS` without the month-0 screen, for comparing decisions."""
    return without_screen(load_scenario(DEALS))


def without_screen(sc: Scenario) -> Scenario:
    return sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"no_deal_at_start": False})})


def spec(**overrides: object) -> RunSpec:
    base = RunSpec(samples=SAMPLES, paths=PATHS, seed=SEED, horizon=HORIZON, lookahead=6)
    return replace(base, **overrides)  # type: ignore[arg-type]


@cache
def runs(policy: str) -> tuple[RunResult, RunResult]:
    """The same spec run by NumPy and by JAX, on a scenario where deals are made."""
    sc = deals()
    return run(sc, spec(policy=policy)), run(sc, spec(policy=policy, backend="jax"))


@cache
def inputs(scenario: str = "flagship") -> tuple[Values, list[np.random.SeedSequence]]:
    """The run's parameter samples (per sample) and path seeds of the flagship or, for ``"deals"``, of
    :func:`deals`, for calling the engines directly."""
    seeds = Seeds.from_seed(SEED)
    values = candidate_parameters(deals() if scenario == "deals" else flagship(), SAMPLES, seeds, 0)
    return values, [seeds.path_seed(i) for i in range(SAMPLES)]


def sample_means(x: np.ndarray, sample: np.ndarray) -> np.ndarray:
    return np.bincount(sample, weights=x.astype(float), minlength=SAMPLES) / np.bincount(sample, minlength=SAMPLES)


def statistics(o: Outcomes) -> dict[str, np.ndarray]:
    """Per-path quantities whose means the backends must agree on."""
    first = o.first_settlement
    return {
        "settle within 12 months": (first >= 0) & (first < 12),
        "settle within 24 months": (first >= 0) & (first < 24),
        "casualties A (millions)": o.casualties_total["A"] / 1e6,
        "casualties B (millions)": o.casualties_total["B"] / 1e6,
        "casualties A to settlement (millions)": o.casualties_to_settlement["A"] / 1e6,
        "held at end (1000 km2)": o.held_at_end / 1e3,
        "A removed": o.removed["A"],
        "B removed": o.removed["B"],
        "at war at the horizon": o.at_war_at_end,
    }


# --------------------------------------------------------------------------------------------
# the same distributions


@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_jax_and_numpy_agree_within_monte_carlo_error(policy: str) -> None:
    """Same parameter samples, independent noise: per sample the difference of the two backends' means
    has mean zero, and the samples are independent, so its standard error is ``sd / sqrt(samples)``
    (it also covers the noise of each leader's fitted rule, shared by a sample's paths)."""
    a, b = runs(policy)
    assert np.array_equal(a.outcomes.sample, b.outcomes.sample)
    left, right = statistics(a.outcomes), statistics(b.outcomes)
    checked = 0
    for name in left:
        d = sample_means(left[name], a.outcomes.sample) - sample_means(right[name], b.outcomes.sample)
        se = d.std(ddof=1) / np.sqrt(SAMPLES)
        assert abs(d.mean()) <= Z_MAX * se + 1e-12, f"{policy}: {name}: {d.mean():.4g} (se {se:.3g})"
        checked += se > 0
    assert checked >= 7  # the comparisons have power: the statistics do vary
    # the backends do something: deals are made and leaders fall in both
    for o in (a.outcomes, b.outcomes):
        assert (o.first_settlement >= 0).mean() > 0.1
        assert o.removed["A"].mean() > 0.02


@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_bargaining_range_and_summary_agree(policy: str) -> None:
    """The monthly bargaining range exists on similar shares of paths; the summary is built from both."""
    from ceasefire.run.summary import summarize

    a, b = runs(policy)
    for o in (a.outcomes, b.outcomes):
        assert o.monthly["range_low"].shape == o.monthly["at_war_decision"].shape == (HORIZON, SAMPLES * PATHS)
        low, high = o.monthly["range_low"], o.monthly["range_high"]
        ok = ~np.isnan(low)
        assert np.array_equal(ok, ~np.isnan(high))
        assert np.all(low[ok] <= high[ok]) and np.all((low[ok] >= 0) & (high[ok] <= 1))
        assert not np.any(ok & ~o.monthly["at_war_decision"])  # no range recorded in peace
    exists = [
        sample_means(np.isfinite(r.outcomes.monthly["range_low"]).mean(axis=0), r.outcomes.sample) for r in (a, b)
    ]
    d = exists[0] - exists[1]
    assert abs(d.mean()) <= Z_MAX * d.std(ddof=1) / np.sqrt(SAMPLES) + 1e-12
    sa, sb = summarize(a), summarize(b)
    assert sa.settle_within.keys() == sb.settle_within.keys()
    assert manifest(b, None)["backend"] == "jax" and manifest(a, None)["backend"] == "numpy"


# --------------------------------------------------------------------------------------------
# deterministic limits: exact to rounding


NOISELESS = {
    "territory.gain_sd_km2": 0.0,
    "attrition.intensity_sd": 0.0,
    "sides.A.economy.commodity_volatility": 0.0,
    "sides.B.economy.commodity_volatility": 0.0,
    "sides.A.stability.noise_sd": 0.0,
    "sides.B.stability.noise_sd": 0.0,
    "sides.A.forces.aid_reliability": 1.0,
    "sides.B.forces.aid_reliability": 1.0,
    # B's external money renewed as it is at each decision date (the flagship's only renewal)
    "sides.B.renewal.cut": 0.0,
    "sides.B.renewal.raised": 0.0,
}
"""Every noise of the war off: its trajectory is then a function of the parameters alone."""


def noiseless(values: Values, sc: Scenario, **extra: float) -> Values:
    """``values`` with the noises of :data:`NOISELESS` that ``sc`` has switched off, and ``extra``."""
    out = {k: v.copy() for k, v in values.items()}
    for key, value in {**{k: v for k, v in NOISELESS.items() if k in values}, **extra}.items():
        out[key] = np.full(SAMPLES, value)
    for lever in sc.levers:  # levers carried out for sure
        out[f"levers.{lever.id}.credibility"] = np.ones(SAMPLES)
    return out


WAR_ONLY = RunConfig(horizon=HORIZON, allow_settlement=False, record=True, bargaining_range=False)
LEVERS = {"more-military-aid": 1.0, "secondary-oil-sanctions": 2.0, "close-bank-loopholes": 1.0}


@cache
def war_only(noise: bool) -> tuple[Outcomes, Outcomes]:
    """The war without deals, with levers, by NumPy and by JAX; without noise if ``noise`` is false."""
    values, seeds = inputs()
    params = per_path(values if noise else noiseless(values, flagship()), PATHS)
    return (
        simulate_flat(flagship(), params, seeds, PATHS, WAR_ONLY, LEVERS),
        simulate_jax_flat(flagship(), params, seeds, PATHS, WAR_ONLY, LEVERS),
    )


def test_war_trajectory_equals_numpy_without_noise() -> None:
    """No noise, no deal: every month's territory, casualties, stocks, reserves and stability of JAX equal
    NumPy's to 1e-9 (relative), with levers applied."""
    a, b = war_only(noise=False)
    assert a.trajectories.keys() == b.trajectories.keys()
    for name, x in a.trajectories.items():
        months = HORIZON if name.startswith("gain_") else HORIZON + 1  # gains: at each decision, NaN here
        assert x.shape == b.trajectories[name].shape == (months, SAMPLES * PATHS)
        np.testing.assert_allclose(b.trajectories[name], x, rtol=1e-9, atol=1e-9, err_msg=name)
    # the war does move: territory, casualties and reserves change from the start
    for name in ("held_km2", "casualties_A", "reserves_A", "equipment_B"):
        assert np.all(np.abs(a.trajectories[name][-1] - a.trajectories[name][0]) > 1e-6), name
    for s in SIDES:
        np.testing.assert_allclose(b.casualties_total[s], a.casualties_total[s], rtol=1e-9)
    assert np.array_equal(a.first_settlement, b.first_settlement) and np.all(b.first_settlement == -1)


@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_decisions_equal_numpy_without_noise(policy: str) -> None:
    """No noise, a successor the incumbent's equal, ceasefires that hold, no votes: each leader's values, hence the
    month and terms of the first deal, the casualties until it and the bargaining range, are functions of
    the parameters alone. JAX's equal NumPy's (floats to 1e-9), for both policies. On :func:`deals`: the
    flagship, under Model 2, makes no deal in this limit."""
    values, seeds = inputs("deals")
    same_successor = {
        f"leaders.{s}.successor.{k}": v for s in SIDES for k, v in (("reset", 0.0), ("hazard_multiplier", 1.0))
    }
    # leaders without the war's legitimacy in peace and without doubts of the other's resolve settle more
    calm = {f"leaders.{s}.{k}": 0.0 for s in SIDES for k in ("reasons.legitimacy", "resolve_doubt")}
    # Model 2's other chances off: no breakdown even early, no leader breaking a ceasefire by choice, no
    # vote on the terms
    holds = {"ceasefire.breakdown": 0.0, "ceasefire.breakdown_early": 0.0, "ceasefire.resume_noise": 0.0}
    settings = {k: v for k, v in {**same_successor, **calm, **holds}.items() if k in values}  # those it has
    params = noiseless(values, deals(), **settings)
    # A's reserves spread over the samples (3 to 15 months of the war's deficit): its treasury runs dry, and
    # the pain of the unfunded deficit pushes it to settle, at various months
    params["sides.A.economy.reserves"] = np.linspace(6.0, 30.0, SAMPLES)
    params = per_path(params, PATHS)
    sc = deals()
    sc = sc.model_copy(update={"terms": [t.model_copy(update={"ratification": None}) for t in sc.terms]})
    config = RunConfig(horizon=HORIZON, policy=policy)
    a = simulate_flat(sc, params, seeds, PATHS, config)
    b = simulate_jax_flat(sc, params, seeds, PATHS, config)
    settled = a.first_settlement >= 0
    assert 0.0 < settled.mean() < 1.0  # some samples settle
    if policy == "myopic":  # at various months
        assert 0.2 < settled.mean() and np.unique(a.first_settlement[settled]).size > 2
    assert np.array_equal(a.first_settlement, b.first_settlement)
    assert np.array_equal(a.first_terms, b.first_terms)
    assert np.array_equal(a.ceasefire_months, b.ceasefire_months)
    for s in SIDES:
        np.testing.assert_allclose(b.casualties_to_settlement[s], a.casualties_to_settlement[s], rtol=1e-9)
    np.testing.assert_allclose(b.held_at_end, a.held_at_end, rtol=1e-9)
    np.testing.assert_allclose(b.ceasefire_break_rate, a.ceasefire_break_rate, rtol=1e-9)
    np.testing.assert_allclose(b.objectives_taken, a.objectives_taken, rtol=1e-9, atol=1e-12)
    for key in ("range_low", "range_high"):
        np.testing.assert_allclose(b.monthly[key], a.monthly[key], rtol=1e-9, atol=1e-12, err_msg=key)
    assert np.isfinite(a.monthly["range_low"]).any()


def test_lsm_fit_equals_the_numpy_solver() -> None:
    """The JAX backward induction (ridge fits by the normal equations) gives the coefficients of
    :class:`ceasefire.solve.lsm.OptimalStopping` on the same random stopping problems, to 1e-8."""
    from ceasefire.solve import jax_lsm as lsm
    from ceasefire.solve.lsm import OptimalStopping, PathSet

    rng = np.random.default_rng(5)
    horizon, batches, n, d = 6, 3, 60, 5
    state = rng.standard_normal((horizon + 1, batches, n, d))
    stop = np.where(rng.random((horizon + 1, batches, n)) < 0.7, state[..., 0] + 0.3 * state[..., 1] ** 2, np.nan)
    stop[2] = np.nan  # a date where no path can stop: NaN coefficients
    flow = 0.1 * rng.standard_normal((horizon, batches, n))
    discount = rng.uniform(0.9, 0.99, (horizon, batches, n))
    terminal = rng.standard_normal((batches, n))
    problem = PathSet(state=state, stop=stop, flow=flow, discount=discount, terminal=terminal)
    expected = OptimalStopping(problem, basis="polynomial", degree=2, ridge=1e-3).solve().rule.coefficients
    with jax.enable_x64(True):
        fit = jax.jit(jax.vmap(partial(lsm.fit, degree=2, ridge=1e-3), in_axes=(1, 1, 1, 1, 0)))
        got = np.asarray(fit(state, stop, flow, discount, terminal)).swapaxes(0, 1)
    assert np.all(np.isnan(expected[2])) and np.all(np.isnan(got[2]))
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


def test_regression_bits_do_not_depend_on_the_number_of_samples() -> None:
    """The per-sample ridge fit, mapped over samples as the engine does (``lax.map``: each fit a program
    of one sample's shape), gives a sample the same bits in a batch of 32 and of 2."""
    from ceasefire.solve import jax_lsm as lsm

    rng = np.random.default_rng(0)
    x, y, active = rng.standard_normal((32, 40, 5)), rng.standard_normal((32, 40)), rng.random((32, 40)) < 0.8
    with jax.enable_x64(True):

        def one(b: tuple[Any, ...]) -> Any:
            return lsm.regress(lsm.polynomial_columns(b[0], 2), b[1], b[2], 1e-3)

        fit = jax.jit(lambda *a: jax.lax.map(one, a))
        pick = [3, 17]
        assert np.array_equal(np.asarray(fit(x, y, active))[pick], np.asarray(fit(x[pick], y[pick], active[pick])))


def test_samples_per_block_depends_on_the_paths_only() -> None:
    """A power of two, ``2048 // paths`` at most on the CPU (one sample when it has more paths)."""
    for paths in (1, 40, 200, 2048, 2049, 10_000):
        block = jax_engine.samples_per_block(paths, "cpu")
        assert block & (block - 1) == 0 and block >= 1
        assert block == 1 or block * paths <= 2048 < 2 * block * paths
    assert jax_engine.samples_per_block(PATHS, "cpu") == 32


# --------------------------------------------------------------------------------------------
# seeds and batching


def _all_arrays(o: Outcomes) -> dict[str, np.ndarray]:
    out = {}
    for name in o.__dataclass_fields__:
        value = getattr(o, name)
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, arr in items:
            out[f"{name}.{key}"] = np.asarray(arr)
    return out


def assert_same(a: Outcomes, b: Outcomes) -> None:
    left, right = _all_arrays(a), _all_arrays(b)
    assert left.keys() == right.keys()
    for name, x in left.items():
        assert np.array_equal(x, right[name], equal_nan=x.dtype.kind == "f"), name


def test_same_seed_gives_identical_output_and_another_seed_does_not() -> None:
    values, seeds = inputs("deals")
    config = RunConfig(horizon=HORIZON, policy="myopic")
    params = per_path(values, PATHS)
    a = simulate_jax_flat(deals(), params, seeds, PATHS, config)
    assert_same(a, runs("myopic")[1].outcomes)  # the run's chunk, made again
    other = [np.random.SeedSequence(99, spawn_key=(i,)) for i in range(SAMPLES)]
    c = simulate_jax_flat(deals(), params, other, PATHS, config)
    assert not np.array_equal(a.casualties_total["A"], c.casualties_total["A"])


@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_a_sample_does_not_depend_on_the_others_in_its_call(policy: str) -> None:
    """Samples in reverse order, and a subset of them, give each sample the same numbers bit for bit
    (each leader's rule is fitted on the sample's own imagined paths)."""
    values, seeds = inputs("deals")
    whole = runs(policy)[1].outcomes
    config = RunConfig(horizon=HORIZON, policy=policy)
    order = np.array([*range(SAMPLES - 1, 11, -1)])  # 18 samples, reversed
    params = per_path({k: v[order] for k, v in values.items()}, PATHS)
    part = simulate_jax_flat(deals(), params, [seeds[i] for i in order], PATHS, config)
    rows = (order[:, None] * PATHS + np.arange(PATHS)).ravel()
    for name, x in _all_arrays(part).items():
        if name.startswith("sample"):
            continue
        full = _all_arrays(whole)[name]
        expected = full[:, rows] if name.startswith("monthly.") else full[rows]
        assert np.array_equal(x, expected, equal_nan=x.dtype.kind == "f"), name


def test_batch_size_does_not_change_a_sample() -> None:
    """Calls of 30 and of 2 samples give a sample the same numbers: the war with levers, and the myopic
    policy with its bargaining range (which once differed in the last bit between batch shapes)."""
    values, seeds = inputs()
    whole = war_only(noise=True)[1]
    pick = [3, 17]
    params = per_path({k: v[pick] for k, v in values.items()}, PATHS)
    two = simulate_jax_flat(flagship(), params, [seeds[i] for i in pick], PATHS, WAR_ONLY, LEVERS)
    rows = (np.array(pick)[:, None] * PATHS + np.arange(PATHS)).ravel()
    for name, x in two.trajectories.items():
        assert np.array_equal(x, whole.trajectories[name][:, rows], equal_nan=True), name
    assert np.array_equal(two.removal_month["A"], whole.removal_month["A"][rows])
    config = RunConfig(horizon=HORIZON, policy="myopic")
    values, seeds = inputs("deals")  # the decisions, on the scenario where deals are made (runs)
    params = per_path({k: v[pick] for k, v in values.items()}, PATHS)
    two = simulate_jax_flat(deals(), params, [seeds[i] for i in pick], PATHS, config)
    full = _all_arrays(runs("myopic")[1].outcomes)
    for name, x in _all_arrays(two).items():
        if not name.startswith("sample"):
            expected = full[name][:, rows] if name.startswith("monthly.") else full[name][rows]
            assert np.array_equal(x, expected, equal_nan=x.dtype.kind == "f"), name


# --------------------------------------------------------------------------------------------
# the switch


def test_jax_backend_leaves_global_jax_settings_alone() -> None:
    runs("myopic")
    assert not jax.config.jax_enable_x64  # 64-bit was on only around the call


def test_spec_rejects_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        spec(backend="torch").validate(flagship())


def test_cli_backend_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from typer.testing import CliRunner

    from ceasefire.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["run", "russia-ukraine-2026", "--backend", "torch"])
    assert result.exit_code == 2 and "--backend 'torch'" in " ".join(result.output.split())
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    result = runner.invoke(app, ["run", "russia-ukraine-2026", "--backend", "jax"])
    assert result.exit_code == 2 and "pip install 'ceasefire[jax]'" in " ".join(result.output.split())
