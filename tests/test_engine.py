"""The engine on the flagship scenario, at small sizes: determinism, invariants, calibration, levers."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pytest

from ceasefire.model.attrition import DAYS_PER_MONTH
from ceasefire.model.engine import Outcomes
from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.guards import NAN_MEANS_NONE
from ceasefire.scenario.schema import Scenario

FLAGSHIP = "russia-ukraine-2026"
SAMPLES, PATHS, SEED = 8, 50, 7


@cache
def flagship() -> Scenario:
    try:
        from ceasefire.scenario.load import load_scenario
    except ImportError:  # the loader is optional here
        text = resources.files("ceasefire.scenario").joinpath("library", f"{FLAGSHIP}.toml").read_text("utf-8")
        return Scenario.model_validate(tomllib.loads(text))
    return load_scenario(FLAGSHIP)


def small_spec(**overrides: object) -> RunSpec:
    sc = flagship()
    base = RunSpec(samples=SAMPLES, paths=PATHS, seed=SEED, horizon=sc.scenario.horizon, lookahead=sc.run.lookahead)
    return replace(base, **overrides)  # type: ignore[arg-type]


_RUNS: dict[tuple[object, ...], RunResult] = {}


def run_small(chunk_samples: int | None = None, **overrides: object) -> RunResult:
    """Run the flagship at small sizes, once per distinct spec (results are never mutated)."""
    key = (
        chunk_samples,
        *sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in overrides.items()),
    )
    if key not in _RUNS:
        _RUNS[key] = run(flagship(), small_spec(**overrides), chunk_samples=chunk_samples)
    return _RUNS[key]


def _arrays(outcomes: Outcomes) -> dict[str, np.ndarray]:
    """Every array of an Outcomes, flattened to one level of names."""
    out: dict[str, np.ndarray] = {}
    for f in fields(outcomes):
        value = getattr(outcomes, f.name)
        if isinstance(value, dict):
            for key, arr in value.items():
                out[f"{f.name}.{key}"] = np.asarray(arr)
        else:
            out[f.name] = np.asarray(value)
    return out


def assert_same_outcomes(a: Outcomes, b: Outcomes, gain_rtol: float = 0.0) -> None:
    """Every array equal bit for bit; the recorded gains to ``gain_rtol`` if one is given."""
    left, right = _arrays(a), _arrays(b)
    assert left.keys() == right.keys()
    for name in left:
        if gain_rtol and name.startswith("trajectories.gain_"):
            np.testing.assert_allclose(left[name], right[name], rtol=gain_rtol, atol=1e-9, err_msg=name)
            continue
        floating = left[name].dtype.kind == "f"
        assert np.array_equal(left[name], right[name], equal_nan=floating), name


# --------------------------------------------------------------------------------------------
# determinism


def test_same_spec_gives_identical_outcomes() -> None:
    first = run(flagship(), small_spec(record=True))
    second = run(flagship(), small_spec(record=True))
    assert_same_outcomes(first.outcomes, second.outcomes)
    for key in first.parameters:
        assert np.array_equal(first.parameters[key], second.parameters[key]), key


def test_different_seed_gives_different_outcomes() -> None:
    a = run_small().outcomes
    b = run_small(seed=SEED + 1).outcomes
    assert not np.array_equal(a.casualties_total["A"], b.casualties_total["A"])
    assert not np.array_equal(a.held_at_end, b.held_at_end)


@pytest.mark.parametrize("record", [False, True])
def test_chunking_does_not_change_results(record: bool) -> None:
    whole = run_small(record=record).outcomes
    one_by_one = run_small(chunk_samples=1, record=record).outcomes
    three = run_small(chunk_samples=3, record=record).outcomes
    # the leaders' recorded gains agree to rounding only: leader.peace_value stops its series
    # when the worst element of the batch has converged (see test_kernels)
    assert_same_outcomes(whole, one_by_one, gain_rtol=1e-9)
    assert_same_outcomes(whole, three, gain_rtol=1e-9)
    np.testing.assert_array_equal(whole.sample, np.repeat(np.arange(SAMPLES), PATHS))


def test_chunking_with_settlement_free_recording() -> None:
    whole = run_small(record=True, allow_settlement=False).outcomes
    one_by_one = run_small(chunk_samples=1, record=True, allow_settlement=False).outcomes
    assert_same_outcomes(whole, one_by_one)


def test_recording_chunks_where_every_path_is_at_peace() -> None:
    sc = flagship()
    spec = RunSpec(samples=4, paths=1, seed=0, horizon=sc.scenario.horizon, lookahead=sc.run.lookahead, record=True)
    whole = run(sc, spec).outcomes
    one_by_one = run(sc, spec, chunk_samples=1).outcomes
    assert_same_outcomes(whole, one_by_one)


# --------------------------------------------------------------------------------------------
# invariants on every path

STATE = (
    "held_km2",
    "casualties_A",
    "casualties_B",
    "at_war",
    "reserves_A",
    "reserves_B",
    "manpower_A",
    "manpower_B",
    "equipment_A",
    "equipment_B",
    "stability_A",
    "stability_B",
)


@pytest.fixture(scope="module")
def recorded() -> RunResult:
    return run_small(record=True)


def test_trajectories_have_every_month(recorded: RunResult) -> None:
    tr = recorded.outcomes.trajectories
    n = SAMPLES * PATHS
    for name in STATE:
        assert tr[name].shape == (recorded.spec.horizon + 1, n), name
        assert np.all(np.isfinite(tr[name])), name


def test_territory_within_the_country(recorded: RunResult) -> None:
    area = np.repeat(recorded.parameters["territory.area_km2"], PATHS)
    held = recorded.outcomes.trajectories["held_km2"]
    assert np.all(held >= 0.0)
    assert np.all(held <= area[None, :])
    np.testing.assert_array_equal(held[0], np.repeat(recorded.parameters["territory.held_km2"], PATHS))
    assert np.all((recorded.outcomes.held_at_end >= 0.0) & (recorded.outcomes.held_at_end <= area))


def test_casualties_cumulative(recorded: RunResult) -> None:
    o = recorded.outcomes
    for s in "AB":
        cas = o.trajectories[f"casualties_{s}"]
        assert np.all(cas[0] == 0.0)
        assert np.all(np.diff(cas, axis=0) >= 0.0)
        np.testing.assert_array_equal(cas[-1], o.casualties_total[s])
        assert np.all(o.casualties_to_settlement[s] <= o.casualties_total[s])
        assert np.all(o.casualties_to_settlement[s] >= 0.0)


def test_stocks_and_stability_in_range(recorded: RunResult) -> None:
    tr = recorded.outcomes.trajectories
    for s in "AB":
        assert np.all(tr[f"reserves_{s}"] >= 0.0)
        assert np.all((tr[f"stability_{s}"] >= 0.0) & (tr[f"stability_{s}"] <= 1.0))
        assert np.all(tr[f"manpower_{s}"] >= 1.0)
        assert np.all(tr[f"equipment_{s}"] >= 0.0)
    assert set(np.unique(tr["at_war"])) <= {0.0, 1.0}


def test_peace_rebuilds_forces_at_the_sourced_rates_and_freezes_the_front(recorded: RunResult) -> None:
    """Model 2: in a month spent at peace nobody fights, so the front stays where it was, but the forces
    rebuild: ``m' = m (1 - separation) + recruitment exp(-elasticity pain)``, no losses. With the pain
    elasticity at 0 (pain is not recorded) the recruits are the sourced ``recruitment`` exactly."""
    from ceasefire.run.experiment import simulate_values
    from ceasefire.run.sampling import Seeds

    spec = recorded.spec
    values = {k: np.array(v, dtype=float) for k, v in recorded.parameters.items()}
    for s in "AB":
        values[f"sides.{s}.forces.recruitment_pain_elasticity"][:] = 0.0
    seeds = [Seeds.from_seed(spec.seed).path_seed(int(c)) for c in recorded.candidates]
    tr = simulate_values(recorded.scenario, values, seeds, spec.paths, spec.config(), {}).trajectories
    at_war = tr["at_war"]
    peace = (at_war[:-1] == 0.0) & (at_war[1:] == 0.0)  # at peace through month t's fighting step
    assert peace.sum() > 50  # enough months at peace for the check to mean something
    held = tr["held_km2"]
    np.testing.assert_array_equal(held[1:][peace], held[:-1][peace])
    for s in "AB":
        sep = np.repeat(values[f"sides.{s}.forces.separation"], spec.paths)
        rec = np.repeat(values[f"sides.{s}.forces.recruitment"], spec.paths)
        m = tr[f"manpower_{s}"]
        expected = np.maximum(m[:-1] * (1.0 - sep) + rec, 1.0)
        np.testing.assert_allclose(m[1:][peace], expected[peace], rtol=1e-12)
        # e.g. 600,000 troops, 1.5% leaving and 30,000 recruited a month: 621,000 a month later
        assert not np.array_equal(m[1:][peace], m[:-1][peace])  # not frozen, as under Model 1


def test_equipment_never_falls_in_peace(recorded: RunResult) -> None:
    tr = recorded.outcomes.trajectories
    peace = tr["at_war"][1:] == 0.0
    for s in "AB":
        k = tr[f"equipment_{s}"]
        assert np.all(k[1:][peace] >= k[:-1][peace]), s


def test_settlements_and_breakdowns_agree(recorded: RunResult) -> None:
    o = recorded.outcomes
    horizon = recorded.spec.horizon
    assert np.all(o.settlements >= 0) and np.all(o.breakdowns >= 0)
    # nobody settles twice unless a ceasefire broke down in between
    assert np.all(o.settlements <= o.breakdowns + 1)
    assert np.all(o.breakdowns <= o.settlements)
    # every path starts at war: it is at war at the end iff every settlement broke down
    np.testing.assert_array_equal(o.at_war_at_end, o.settlements == o.breakdowns)
    at_war = o.trajectories["at_war"]
    assert np.all(at_war[0] == 1.0)
    np.testing.assert_array_equal(at_war[-1].astype(bool), o.at_war_at_end)
    steps = np.diff(at_war, axis=0)
    # month-end records can hide a settlement that broke down within its month, never add one
    assert np.all((steps == -1.0).sum(axis=0) <= o.settlements)
    assert np.all((steps == -1.0).sum(axis=0) <= o.breakdowns + 1)
    assert np.all((steps == 1.0).sum(axis=0) <= o.breakdowns)
    # the first settlement
    assert np.all((o.first_settlement >= -1) & (o.first_settlement < horizon))
    settled = o.first_settlement >= 0
    np.testing.assert_array_equal(settled, o.settlements > 0)
    np.testing.assert_array_equal(o.first_terms >= 0, settled)
    assert np.all(o.first_terms < len(recorded.terms))
    assert not np.any(o.under_successor & ~settled)
    # the first ceasefire's months
    assert np.all(o.ceasefire_months[~settled] == 0)
    assert np.all(o.ceasefire_months[settled] >= 1)
    assert np.all(o.ceasefire_months[settled] <= horizon - o.first_settlement[settled])
    held_on = settled & ~o.ceasefire_broke
    np.testing.assert_array_equal(o.ceasefire_months[held_on], horizon - o.first_settlement[held_on])
    assert not np.any(o.ceasefire_broke & ~settled)
    assert np.all(o.breakdowns[o.ceasefire_broke] >= 1)


def test_outcomes_at_the_first_settlement(recorded: RunResult) -> None:
    """held_at_end and casualties_to_settlement are the state when the first deal is signed."""
    o = recorded.outcomes
    tr = o.trajectories
    cols = np.arange(o.held_at_end.size)
    month = np.where(o.first_settlement >= 0, o.first_settlement, recorded.spec.horizon)
    np.testing.assert_array_equal(o.held_at_end, tr["held_km2"][month, cols])
    for s in "AB":
        np.testing.assert_array_equal(o.casualties_to_settlement[s], tr[f"casualties_{s}"][month, cols])


def test_removals(recorded: RunResult) -> None:
    o = recorded.outcomes
    for s in "AB":
        np.testing.assert_array_equal(o.removal_month[s] >= 0, o.removed[s])
        assert np.all(o.removal_month[s] < recorded.spec.horizon)
    assert not np.any(o.under_successor & ~(o.removed["A"] | o.removed["B"]))


def test_no_nan_in_outcomes(recorded: RunResult) -> None:
    o = recorded.outcomes
    assert not np.any(np.isnan(o.held_at_end))
    assert not np.any(np.isnan(o.objectives_taken))
    assert np.all((o.objectives_taken >= 0.0) & (o.objectives_taken <= 1.0))
    assert o.objectives_taken.shape == (SAMPLES * PATHS, len(recorded.scenario.objectives))
    for name, arr in _arrays(o).items():
        if name.startswith(("trajectories.gain_", "monthly.range_", *NAN_MEANS_NONE)):
            continue  # NaN by construction: at peace, where no range exists, without a ceasefire
        if arr.dtype.kind == "f":
            assert not np.any(np.isnan(arr)), name
    # Model 2's outcomes at the settlement (power, reserves), like the break rate: NaN exactly where
    # the value does not exist, on the paths with no first settlement
    for name in NAN_MEANS_NONE:
        for key, arr in _arrays(o).items():
            if key.split(".")[0] == name:
                np.testing.assert_array_equal(np.isnan(arr), o.first_settlement < 0, err_msg=key)


def test_some_paths_settle_and_some_do_not(recorded: RunResult) -> None:
    """A sanity check that the flagship exercises both branches at these sizes."""
    settled = recorded.outcomes.first_settlement >= 0
    assert settled.any() and not settled.all()


# --------------------------------------------------------------------------------------------
# calibration: the first year without settlement and without levers


@pytest.fixture(scope="module")
def war_only() -> RunResult:
    return run_small(record=True, allow_settlement=False)


def test_no_settlement_when_disabled(war_only: RunResult) -> None:
    o = war_only.outcomes
    assert np.all(o.first_settlement == -1) and np.all(o.settlements == 0)
    assert np.all(o.trajectories["at_war"] == 1.0)


def test_calibration_russian_casualties_per_day(war_only: RunResult) -> None:
    per_day = war_only.outcomes.trajectories["casualties_A"][12] / (12 * DAYS_PER_MONTH)
    assert 850.0 <= float(np.median(per_day)) <= 1650.0


def test_calibration_monthly_territory_gain(war_only: RunResult) -> None:
    held = war_only.outcomes.trajectories["held_km2"]
    monthly = (held[12] - held[0]) / 12.0
    assert 240.0 <= float(np.median(monthly)) <= 701.0
    assert 240.0 <= float(np.mean(monthly)) <= 701.0


def test_calibration_ukrainian_casualties(war_only: RunResult) -> None:
    tr = war_only.outcomes.trajectories
    ratio_range = (1.8, 2.6)  # the scenario's exchange ratio
    # in the first month both sides are at full power: the ratio is the sampled one exactly
    sampled = np.repeat(war_only.parameters["attrition.exchange_ratio"], PATHS)
    np.testing.assert_allclose(tr["casualties_A"][1] / tr["casualties_B"][1], sampled, rtol=1e-12)
    # over the year it drifts with the powers, but stays near the range
    ratio = tr["casualties_A"][12] / tr["casualties_B"][12]
    assert ratio_range[0] <= float(np.median(ratio)) <= ratio_range[1]
    assert np.all((ratio > 0.9 * ratio_range[0]) & (ratio < 1.1 * ratio_range[1]))
    per_day_b = tr["casualties_B"][12] / (12 * DAYS_PER_MONTH)
    assert 850.0 / ratio_range[1] <= float(np.median(per_day_b)) <= 1650.0 / ratio_range[0]


# --------------------------------------------------------------------------------------------
# levers (common random numbers: the same seed with and without the lever)


def test_more_military_aid_slows_a(war_only: RunResult) -> None:
    aided = run_small(record=True, allow_settlement=False, levers={"more-military-aid": 1.0})
    h0, h1 = war_only.outcomes.trajectories["held_km2"], aided.outcomes.trajectories["held_km2"]
    gained0, gained1 = h0[-1] - h0[0], h1[-1] - h1[0]
    assert np.median(gained1) < np.median(gained0)
    # path by path, more aid never helps A (the same noise on both sides of the comparison)
    assert np.all(gained1 <= gained0 + 1e-6)
    np.testing.assert_array_equal(h0[0], h1[0])


def test_secondary_oil_sanctions_drain_reserves(war_only: RunResult) -> None:
    sanctioned = run_small(record=True, allow_settlement=False, levers={"secondary-oil-sanctions": 1.0})
    r0 = war_only.outcomes.trajectories["reserves_A"][24]
    r1 = sanctioned.outcomes.trajectories["reserves_A"][24]
    assert np.all(r1 <= r0)
    assert r1.mean() < r0.mean()
    # Ukraine's treasury does not see the lever
    np.testing.assert_array_equal(
        war_only.outcomes.trajectories["reserves_B"], sanctioned.outcomes.trajectories["reserves_B"]
    )


def test_secondary_oil_sanctions_with_settlement() -> None:
    base = run_small(record=True)
    sanctioned = run_small(record=True, levers={"secondary-oil-sanctions": 1.0})
    r0 = base.outcomes.trajectories["reserves_A"][24]
    r1 = sanctioned.outcomes.trajectories["reserves_A"][24]
    assert r1.mean() < r0.mean()


def test_a_revenue_lever_shows_as_economic_pain(war_only: RunResult) -> None:
    """Pain is measured against the start without levers, so a cut in revenue is felt as pain."""
    squeezed = run_small(record=True, allow_settlement=False, levers={"close-bank-loopholes": 1.0})
    s0 = war_only.outcomes.trajectories["stability_A"][1:13]
    s1 = squeezed.outcomes.trajectories["stability_A"][1:13]
    carried = np.any(s1 != s0, axis=0)
    assert carried.mean() > 0.3  # credibility 0.6-0.9: most paths carry it out
    assert np.all(s1[:, carried] <= s0[:, carried] + 1e-12)
    assert s1[:, carried].mean() < s0[:, carried].mean()


def test_zero_intensity_lever_changes_nothing() -> None:
    plain = run_small()
    zero = run_small(levers={"more-military-aid": 0.0})
    assert_same_outcomes(plain.outcomes, zero.outcomes)


# --------------------------------------------------------------------------------------------
# bad specs


@pytest.mark.parametrize(
    "levers",
    [
        {"no-such-lever": 1.0},
        {"more-military-aid": -0.1},
        {"more-military-aid": 2.5},  # intensity_max is 2
        {"secondary-oil-sanctions": 1.5},  # intensity_max defaults to 1
        {"carrot": float("nan")},
    ],
)
def test_bad_levers_raise(levers: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="lever"):
        run(flagship(), small_spec(samples=1, paths=1, levers=levers))


def test_unknown_policy_raises() -> None:
    with pytest.raises(ValueError, match="policy"):
        run(flagship(), small_spec(samples=1, paths=1, policy="omniscient"))


@pytest.mark.parametrize("field,value", [("samples", 0), ("paths", 0), ("horizon", 0), ("seed", -1)])
def test_bad_sizes_raise(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        run(flagship(), small_spec(**{field: value}))


# --------------------------------------------------------------------------------------------
# conditioning on the observed start


DEAL_AT_START_ABOVE = 1300.0
"""Casualties a day above which :func:`month0_deals` makes a sample settle in month 0."""


@pytest.fixture
def month0_deals(monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """The flagship, on which the samples whose casualty rate lies above :data:`DEAL_AT_START_ABOVE`
    settle in month 0 on every path, so that the conditioning has something to remove.

    Under Model 1 the flagship without doubt of the other's resolve signed in month 0 for some
    samples; under Model 2 it signs none (none of 30 samples, even without optimism or audience
    cost). The engine's outcomes are doctored instead, as a function of a sample's parameters alone
    (as the month-0 decision is), and the guard, which would flag the doctored outcomes (a deal
    without terms), is bypassed; the runs are on one core, where the patch holds.
    """
    import ceasefire.run.experiment as experiment

    real = experiment.simulate_samples

    def deal_at_start(scenario: Scenario, values: Any, *args: Any, **kwargs: Any) -> Outcomes:
        out = real(scenario, values, *args, **kwargs)
        offset = args[4] if len(args) > 4 else kwargs.get("offset", 0)
        high = np.asarray(values["attrition.casualties_per_day"]) > DEAL_AT_START_ABOVE
        out.first_settlement[high[out.sample - offset]] = 0
        return out

    monkeypatch.setattr(experiment, "simulate_samples", deal_at_start)
    monkeypatch.setattr(experiment, "check_chunk", lambda out, *args, **kwargs: out)
    return flagship()


def test_no_deal_at_start_removes_month_zero_settlements(month0_deals: Scenario) -> None:
    sc = month0_deals
    assert sc.scenario.no_deal_at_start
    conditioned = run(sc, small_spec(samples=30, workers=1)).outcomes
    assert not np.any(conditioned.first_settlement == 0)
    free = sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"no_deal_at_start": False})})
    unconditioned = run(free, small_spec(samples=30, workers=1))
    assert unconditioned.samples_drawn == 30
    # some samples do settle in month 0 here: conditioning matters
    assert np.any(unconditioned.outcomes.first_settlement == 0)


def test_conditioned_sample_keeps_the_consistent_samples_in_order(month0_deals: Scenario) -> None:
    sc = month0_deals
    spec = small_spec(samples=30, workers=1)
    conditioned = run(sc, spec)
    free = sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"no_deal_at_start": False})})
    unconditioned = run(free, spec)
    o = unconditioned.outcomes
    at_zero = np.bincount(o.sample, weights=o.first_settlement == 0, minlength=30) > 0
    ok = np.flatnonzero(~at_zero)
    kept = conditioned.candidates[conditioned.candidates < 30]
    assert 0 < kept.size < spec.samples and conditioned.samples_drawn > spec.samples
    np.testing.assert_array_equal(kept, ok)
    # a kept sample has the same parameters and the same outcomes, path for path, as unconditioned
    for key in ("attrition.casualties_per_day", "leaders.A.reasons.punishment"):
        np.testing.assert_array_equal(conditioned.parameters[key][: kept.size], unconditioned.parameters[key][ok])
    rows_c = conditioned.outcomes.sample < kept.size
    rows_u = np.isin(o.sample, ok)
    for name in ("first_settlement", "first_terms", "held_at_end"):
        np.testing.assert_array_equal(getattr(conditioned.outcomes, name)[rows_c], getattr(o, name)[rows_u])


def test_conditioning_does_not_depend_on_the_chunk_size(month0_deals: Scenario) -> None:
    sc = month0_deals
    a = run(sc, small_spec(samples=12, workers=1))
    b = run(sc, small_spec(samples=12, workers=1), chunk_samples=5)
    assert a.samples_drawn > 12  # some candidates were left out
    np.testing.assert_array_equal(a.candidates, b.candidates)
    assert_same_outcomes(a.outcomes, b.outcomes)


def test_impossible_conditioning_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import ceasefire.run.experiment as experiment

    real = experiment.simulate_chunk

    def always_at_zero(*args: object, **kwargs: object) -> Outcomes:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        out.first_settlement[:] = 0
        return out

    monkeypatch.setattr(experiment, "simulate_chunk", always_at_zero)
    # the doctored outcomes are not self-consistent (a deal without terms), which the guard would flag
    monkeypatch.setattr(experiment, "check_chunk", lambda out, *args, **kwargs: out)
    with pytest.raises(ValueError, match="consistent with no deal at the start"):
        run(flagship(), small_spec(samples=2, paths=2, horizon=3))
