"""Levers and the price of peace: common random numbers, credibility, grids, the optimizer, the CLI.

The toy scenario ``tests/data/levers-toy.toml`` has levers with known properties: a certain
carrot (concessions to A) and its twin at three times the cost, the same carrot never carried
out (credibility 0) or carried out half the time, a lever with no effect, more aid to B, and a
lever costed in another unit.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ceasefire.analysis.levers import (
    Z95,
    Baselines,
    EffectRow,
    LeverEffects,
    Setting,
    Tally,
    baseline_run,
    batch_seed,
    contrast,
    difference,
    level,
    lever_effects,
    lever_effects_within,
    lever_grid,
    simulate_settings,
)
from ceasefire.analysis.price import cheapest_package
from ceasefire.cli import app
from ceasefire.run.experiment import RunResult, run
from ceasefire.run.summary import survival_at
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import Scenario

TOY = Path(__file__).parent / "data" / "levers-toy.toml"
runner = CliRunner()


@pytest.fixture(scope="module")
def toy() -> Scenario:
    return load_scenario(TOY)


@pytest.fixture(scope="module")
def base(toy: Scenario) -> RunResult:
    # 36 months rather than the toy's 24: a first ceasefire can then be observed for the 24 months
    # that ``holds`` counts (its Kaplan-Meier estimate is NaN where none was)
    return baseline_run(toy, samples=12, paths=32, seed=7, horizon=36)


def _row(effects: LeverEffects, lever: str, intensity: float) -> EffectRow:
    """The row of ``lever`` at ``intensity``."""
    return next(r for r in effects.rows if r.lever == lever and math.isclose(r.intensity, intensity))


def _same(a: Tally, b: Tally) -> bool:
    return (
        np.array_equal(a.settled_by, b.settled_by)
        and all(np.array_equal(a.casualties[s], b.casualties[s]) for s in "AB")
        and np.array_equal(a.ceasefires, b.ceasefires)
        and np.array_equal(a.at_risk, b.at_risk)
        and np.array_equal(a.ended, b.ended)
    )


# -- common random numbers --------------------------------------------------------------------
def test_batched_packages_equal_runs_with_the_levers_bit_for_bit(toy: Scenario, base: RunResult) -> None:
    packages = [{}, {"carrot": 0.4, "more-aid": 1.5}, {"half-promise": 1.0}]
    tallies = simulate_settings(base, [Setting(p) for p in packages])
    for package, tally in zip(packages, tallies, strict=True):
        alone = run(toy, replace(base.spec, levers=package), samples_of=base)
        assert _same(tally, Tally.of_run(alone)), package
    assert not _same(tallies[0], tallies[1])  # the levers do change something here


def test_packages_shared_among_workers_give_the_same_tallies(base: RunResult) -> None:
    packages = [Setting({"carrot": c, "more-aid": a}) for c in (0.0, 0.5, 1.0) for a in (0.0, 1.5)]
    seen: list[tuple[int, int]] = []
    one = simulate_settings(base, packages, workers=1)
    two = simulate_settings(base, packages, lambda done, total: seen.append((done, total)), workers=2)
    assert all(_same(a, b) for a, b in zip(one, two, strict=True))
    assert len(seen) == 2 and seen[-1] == (72, 72)  # two units, one per worker


def test_a_lever_with_zero_effect_changes_nothing_exactly(base: RunResult) -> None:
    e = lever_effects(base.scenario, intensities=(0.5, 1.0), levers=["no-effect"], baseline=base)
    for r in e.rows:
        for m in ("p12", "p24", "casualties_A", "casualties_B", "holds"):
            assert getattr(r, f"d_{m}") == 0.0 and getattr(r, f"d_{m}_se") == 0.0
            assert getattr(r, f"d_{m}_certain") == 0.0
    zero = simulate_settings(base, [Setting({"carrot": 0.0, "more-aid": 0.0})])[0]
    assert _same(zero, Tally.of_run(base))


def test_credibility_zero_is_no_lever_and_certain_is_the_certain_twin(base: RunResult) -> None:
    e = lever_effects(base.scenario, intensities=(0.5, 1.0), levers=["empty-promise", "carrot"], baseline=base)
    for x in (0.5, 1.0):
        never, carrot = _row(e, "empty-promise", x), _row(e, "carrot", x)
        assert never.credibility == 0.0
        assert (never.d_p12, never.d_p24, never.d_casualties_A, never.d_holds) == (0.0, 0.0, 0.0, 0.0)
        # the same concession made for sure is the certain carrot, path for path
        assert (never.d_p12_certain, never.d_p24_certain) == (carrot.d_p12, carrot.d_p24)
        assert never.d_casualties_B_certain == carrot.d_casualties_B


def test_a_certain_carrot_raises_the_probability_of_settlement(base: RunResult) -> None:
    e = lever_effects(base.scenario, intensities=(0.25, 1.0), levers=["carrot"], certain=False, baseline=base)
    small, large = _row(e, "carrot", 0.25), _row(e, "carrot", 1.0)
    # Model 2's deals come later than Model 1's: at these sizes the 12-month effect (+16 +- 11 points)
    # is within two standard errors, the 24-month one (+23 +- 9) clear of them
    assert large.d_p24 > 2 * large.d_p24_se > 0
    assert large.d_p24 > small.d_p24 >= 0
    assert large.d_p12 > small.d_p12 >= 0
    assert large.d_p12_certain is None  # not computed
    assert 0 < e.baseline["p12"].value < 1 and e.baseline["p12"].se > 0
    assert large.cost == pytest.approx(1.0) and small.cost == pytest.approx(0.25)


def test_the_effect_scales_with_credibility_within_monte_carlo_error(toy: Scenario) -> None:
    b = baseline_run(toy, samples=24, paths=40, seed=3)
    t0, half, sure = simulate_settings(b, [Setting({}), Setting({"half-promise": 1.0}), Setting({"carrot": 1.0})])
    for m in ("p12", "p24"):
        effect = contrast([(1.0, sure), (-1.0, t0)], m)
        assert effect.value > 2 * effect.se
        # half-promise = the carrot carried out on half the paths: half its effect, in expectation
        gap = contrast([(1.0, half), (-1.0, t0), (-0.5, sure), (0.5, t0)], m)
        assert abs(gap.value) < 3 * gap.se + 0.01, (m, gap)


def test_holds_is_the_kaplan_meier_survival_of_the_simulated_ceasefires(base: RunResult) -> None:
    # not (1 - break rate)^24, an input restated: the survival the simulated first ceasefires show
    o = base.outcomes
    cf = o.first_settlement >= 0
    assert cf.any() and o.ceasefire_broke[cf].any()
    km = survival_at(o.ceasefire_months[cf], o.ceasefire_broke[cf], 24)
    est = level(Tally.of_run(base), "holds")
    assert km is not None and est.value == pytest.approx(km, abs=1e-12)
    assert 0 < est.se < 0.5


def test_the_survival_standard_error_matches_the_spread_of_independent_replicates() -> None:
    # 400 clusters of 10 ceasefires each, geometric breakdowns with 3% a month, censored at 30:
    # the linearised standard error of the pooled Kaplan-Meier estimate is the replicates' spread
    rng = np.random.default_rng(1)
    values, ses = [], []
    for _ in range(200):
        life = rng.geometric(0.03, (400, 10))
        start = rng.integers(0, 20, (400, 10))
        months = np.minimum(life, 30 - start)
        broke = life <= 30 - start
        sample = np.repeat(np.arange(400), 10)
        zeros = np.zeros(4000, dtype=np.int64)
        t = Tally.of(sample, zeros, {"A": zeros * 1.0, "B": zeros * 1.0}, months.ravel(), broke.ravel(), 400, 10, 30)
        e = level(t, "holds")
        values.append(e.value)
        ses.append(e.se)
    assert np.mean(values) == pytest.approx(0.97**24, abs=0.01)
    assert np.mean(ses) == pytest.approx(np.std(values, ddof=1), rel=0.2)


def test_paired_standard_error_is_that_of_the_per_sample_differences() -> None:
    rng = np.random.default_rng(0)
    y0 = rng.binomial(20, rng.uniform(0.1, 0.9, 50)).astype(float)
    y1 = np.minimum(y0 + rng.binomial(3, 0.5, 50), 20)

    def settled_by_12(y: np.ndarray) -> Tally:  # 50 samples of 20 paths, y of them settled within 12 months
        zeros = np.zeros(50)
        return Tally(20, np.column_stack([np.zeros((50, 12)), y]), {"A": zeros, "B": zeros}, zeros,
                     np.zeros((50, 25)), np.zeros((50, 25)))  # fmt: skip

    d = difference(settled_by_12(y1), settled_by_12(y0), "p12")
    per_sample = (y1 - y0) / 20
    assert d.value == pytest.approx(per_sample.mean())
    assert d.se == pytest.approx(per_sample.std(ddof=1) / np.sqrt(50))
    # pairing: far smaller than the error of either level
    assert d.se < 0.5 * level(settled_by_12(y1), "p12").se


# -- the grid ---------------------------------------------------------------------------------
def test_grid_edges_are_the_single_levers(base: RunResult) -> None:
    g = lever_grid(base.scenario, "carrot", "more-aid", intensities=(0.5, 1.0), baseline=base)
    assert g.intensities_a == g.intensities_b == (0.0, 0.5, 1.0)
    assert np.shape(g.p12) == np.shape(g.d_p24_se) == np.shape(g.cost) == (3, 3)
    assert g.d_p12[0][0] == 0.0 and g.p12[0][0] == pytest.approx(Tally.of_run(base).settled_by[:, 12].sum() / 384)
    e = lever_effects(base.scenario, intensities=(0.5, 1.0), levers=["carrot", "more-aid"], baseline=base)
    for i, x in enumerate((0.5, 1.0), start=1):
        assert g.d_p12[i][0] == _row(e, "carrot", x).d_p12 and g.d_p24[i][0] == _row(e, "carrot", x).d_p24
        assert g.d_p12[0][i] == _row(e, "more-aid", x).d_p12 and g.d_p12_se[0][i] == _row(e, "more-aid", x).d_p12_se
    assert g.cost[2][2] == pytest.approx(1.0 + 10.0)  # E[cost] of more-aid is 10 per unit
    doc = g.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["p12"][1][2] == g.p12[1][2]


def test_grid_rejects_the_same_lever_twice_and_intensities_above_the_maximum(toy: Scenario) -> None:
    with pytest.raises(ValueError, match="two different levers"):
        lever_grid(toy, "carrot", "carrot")
    with pytest.raises(ValueError, match=r"intensity must lie in \[0, 1\]"):
        lever_grid(toy, "carrot", "more-aid", intensities=(0.5, 2.0))


# -- the price of peace -----------------------------------------------------------------------
def _linear(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.1 + 0.25 * x[:, 0] + 0.25 * x[:, 1])


@pytest.mark.parametrize(
    ("upper", "target", "package", "cost"),
    [
        ((1.0, 1.0), 0.31, (0.85, 0.0), 0.85),  # the cheap lever alone suffices: 0.25 x >= 0.21
        ((0.5, 1.0), 0.31, (0.5, 0.35), 0.5 + 3 * 0.35),  # the cheap lever runs out; the dear one fills the gap
        ((1.0, 1.0), 0.05, (0.0, 0.0), 0.0),  # met without levers
    ],
)
def test_cheapest_package_on_a_known_problem(
    upper: tuple[float, float], target: float, package: tuple[float, float], cost: float
) -> None:
    found = cheapest_package(_linear, [1.0, 3.0], upper, target, steps=20, seed=1)
    assert found.feasible
    assert found.x == pytest.approx(package)
    assert found.cost == pytest.approx(cost)
    assert found.probability >= target


def test_cheapest_package_against_brute_force_on_random_linear_problems() -> None:
    """Differential evolution is a heuristic: on small random problems it should find the lattice
    optimum nearly always and never be far off, and never call an infeasible package feasible."""
    rng = np.random.default_rng(2026)
    exact, worst = 0, 0.0
    for trial in range(30):
        n, steps = int(rng.integers(2, 4)), 6
        c, b, upper = rng.uniform(0.1, 5, n), rng.uniform(0.05, 0.4, n), rng.choice([1.0, 2.0], n)
        target = rng.uniform(0.15, 0.1 + upper @ b)
        lattice = np.array(list(itertools.product(range(steps + 1), repeat=n))) / steps * upper
        feasible = lattice[0.1 + lattice @ b >= target]
        best = float((feasible @ c).min())

        def linear(x: np.ndarray, b: np.ndarray = b) -> np.ndarray:
            return np.asarray(0.1 + x @ b)

        found = cheapest_package(linear, c, upper, float(target), steps=steps, seed=trial)
        assert found.feasible and 0.1 + np.array(found.x) @ b >= target
        assert found.cost >= best - 1e-9
        exact += found.cost <= best + 1e-9
        worst = max(worst, found.cost / best - 1)
    assert exact >= 26 and worst < 0.2, (exact, worst)


def test_cheapest_package_says_when_the_target_is_out_of_reach() -> None:
    found = cheapest_package(_linear, [1.0, 3.0], [1.0, 1.0], 0.9, steps=10, seed=1)
    assert not found.feasible
    assert found.probability == pytest.approx(0.6) and found.x == pytest.approx((1.0, 1.0))  # the most probable


def test_price_of_peace_uses_the_cheaper_of_two_identical_levers(toy: Scenario) -> None:
    from ceasefire.analysis.levers import price_of_peace

    search, confirm = baseline_run(toy, samples=8, paths=16, seed=5), baseline_run(toy, samples=8, paths=16, seed=6)
    lattice = [k / 5 for k in range(6)]
    small = [
        t.settled_by[:, 12].sum() / 128 for t in simulate_settings(search, [Setting({"carrot": x}) for x in lattice])
    ]
    # the search's estimate: the confirmation run's level plus the change on the search runs
    estimate = [Tally.of_run(confirm).settled_by[:, 12].sum() / 128 + q - small[0] for q in small]
    assert estimate[-1] > estimate[0]  # the carrot works on these samples
    target = (estimate[0] + estimate[-1]) / 2 + 1e-9  # off the values, so that rounding cannot decide
    cheapest = next(x for x, q in zip(lattice, estimate, strict=True) if q >= target)
    found = price_of_peace(toy, target, within=12, levers=["dear-carrot", "carrot"], popsize=4, maxiter=5,
                           search_samples=8, search_paths=16, seed=5, steps=5, samples=8, paths=16)  # fmt: skip
    assert found.reached and found.dropped == ()
    assert found.package == {"dear-carrot": 0.0, "carrot": pytest.approx(cheapest)}
    assert found.cost == pytest.approx(cheapest)
    assert found.search_probability >= target and found.search_baseline == pytest.approx(small[0])
    assert found.baseline.value == pytest.approx(estimate[0])
    assert found.probability.se > 0 and (found.samples, found.paths, found.seed) == (8, 16, 6)  # a fresh seed
    json.dumps(found.to_dict(), allow_nan=False)


def test_the_screen_leaves_out_levers_with_no_effect(toy: Scenario) -> None:
    from ceasefire.analysis.price import price_of_peace

    # within 24 months: under Model 2 the carrot's effect on a settlement within 12 months is within
    # noise at these sizes, and the screen would leave it out too
    found = price_of_peace(toy, 0.99, within=24, levers=["carrot", "no-effect", "empty-promise"], search_samples=6,
                           search_paths=12, samples=6, paths=12, steps=3, popsize=3, maxiter=2)  # fmt: skip
    assert found.dropped == ("no-effect", "empty-promise")
    assert found.package["no-effect"] == found.package["empty-promise"] == 0.0


def test_price_of_peace_says_plainly_when_no_package_reaches_the_target(toy: Scenario) -> None:
    from ceasefire.analysis.price import price_of_peace

    found = price_of_peace(toy, 0.99, within=12, levers=["no-effect", "empty-promise"], search_samples=6,
                           search_paths=12, samples=6, paths=12, steps=3, popsize=3, maxiter=2,
                           screen=False)  # fmt: skip
    assert not found.reached and found.dropped == ()
    assert found.verdict.startswith("no package reaches")
    # every lever at its largest intensity falls short: nothing is searched for
    assert not found.searched and (found.evaluations, found.generations) == (1, 0)
    assert found.package == {"no-effect": 1.0, "empty-promise": 1.0}
    assert found.at_max is not None and found.at_max == found.baseline == found.probability  # nothing has an effect


def test_price_of_peace_refuses_to_add_costs_in_different_units(toy: Scenario) -> None:
    from ceasefire.analysis.price import price_of_peace

    with pytest.raises(ValueError, match="different units"):
        price_of_peace(toy, 0.5)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        price_of_peace(toy, 1.0, levers=["carrot"])


# -- batches of samples, precision, a reference run ----------------------------------------------
def test_batches_join_sample_by_sample_and_simulate_each_package_once(
    toy: Scenario, base: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = baseline_run(toy, samples=5, paths=32, seed=batch_seed(7, 1), horizon=base.spec.horizon)
    assert batch_seed(7, 0) == 7 and batch_seed(7, 1) != batch_seed(7, 2)
    batches = Baselines((base,)).with_run(other)
    assert batches.samples == 17 and batches.spec.samples == 17
    packages = [Setting({"carrot": 0.6}), Setting({"more-aid": 1.0, "carrot": 0.0})]
    joined = batches.simulate(packages)
    for package, tally in zip(packages, joined, strict=True):
        parts = [simulate_settings(r, [package])[0] for r in (base, other)]
        assert np.array_equal(tally.settled_by, np.concatenate([t.settled_by for t in parts]))
        assert np.array_equal(tally.at_risk, np.concatenate([t.at_risk for t in parts]))
        assert np.array_equal(tally.ended, np.concatenate([t.ended for t in parts]))
    each = [Tally.of_run(r).ceasefires for r in (base, other)]
    assert np.array_equal(batches.tally().ceasefires, np.concatenate(each))
    calls: list[int] = []
    import ceasefire.analysis.levers as levers_module

    real = levers_module.simulate_settings
    monkeypatch.setattr(levers_module, "simulate_settings", lambda b, s, p=None: calls.append(len(s)) or real(b, s, p))
    again = batches.simulate([Setting({"more-aid": 1.0}), Setting({"carrot": 0.6}), Setting({"carrot": 0.2})])
    assert calls == [1, 1]  # only the new package, once per batch; "more-aid" alone is the package above
    assert np.array_equal(again[0].settled_by, joined[1].settled_by)


def test_samples_are_added_until_every_interval_is_narrow_enough(toy: Scenario) -> None:
    wide, first = lever_effects_within(toy, half_width=0.9, levers=["carrot", "more-aid"], batch_samples=6,
                                       paths=16, max_samples=18, seed=3)  # fmt: skip
    assert len(first.runs) == 1 and wide.samples == 6 and wide.batches == 1 and wide.widest() <= 0.9
    narrow, batches = lever_effects_within(toy, half_width=1e-6, levers=["carrot", "more-aid"], batch_samples=6,
                                           paths=16, max_samples=18, seed=3)  # fmt: skip
    assert len(batches.runs) == 3 and narrow.samples == 18 and narrow.widest() > 1e-6  # the cap, said so
    assert narrow.widest() == pytest.approx(max(Z95 * getattr(r, f"d_{q}_se") for r in narrow.rows
                                                for q in ("p12", "p24")))  # fmt: skip
    # batch 0 runs on the study's own seed, whatever comes after it
    assert np.array_equal(Tally.of_run(batches.runs[0]).settled_by, Tally.of_run(first.runs[0]).settled_by)
    with pytest.raises(ValueError, match="half_width"):
        lever_effects_within(toy, half_width=0.0)


def test_the_price_of_peace_against_a_reference_run_is_its_level_plus_the_change(toy: Scenario) -> None:
    from ceasefire.analysis.price import price_of_peace

    reference = baseline_run(toy, samples=10, paths=16, seed=11)
    confirm = baseline_run(toy, samples=8, paths=16, seed=12)
    found = price_of_peace(toy, 0.99, within=12, levers=["carrot"], search_samples=4, search_paths=8, steps=2,
                           popsize=2, maxiter=1, confirm=confirm, reference=reference)  # fmt: skip
    p0 = level(Tally.of_run(reference), "p12")
    assert found.baseline == p0 and (found.reference_samples, found.samples) == (10, 8)
    change = difference(simulate_settings(confirm, [Setting(found.package)])[0], Tally.of_run(confirm), "p12")
    assert found.probability.value == pytest.approx(p0.value + change.value)
    assert found.probability.se == pytest.approx(float(np.hypot(p0.se, change.se)))
    assert "MAXCV" not in found.optimizer and found.search_message  # SciPy's own words kept apart
    with pytest.raises(ValueError, match="without levers"):
        price_of_peace(toy, 0.9, levers=["carrot"], search_samples=4, search_paths=8, steps=2, popsize=2,
                       maxiter=1, confirm=confirm, reference=run(toy, replace(reference.spec, levers={"carrot": 1.0}),
                                                                  samples_of=reference))  # fmt: skip


# -- the command ------------------------------------------------------------------------------
SMALL = ["--samples", "6", "--paths", "16", "--seed", "2"]


def test_cli_prints_the_effects_table_and_writes_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["levers", str(TOY), *SMALL, "--only", "carrot,more-aid", "--intensities", "0.5,2"])
    assert result.exit_code == 0, result.output
    assert "Lever effects" in result.output and "carrot" in result.output
    assert "carrot@2" in result.output  # above the carrot's largest intensity: skipped, and said so
    out = tmp_path / "e.json"
    result = runner.invoke(app, ["levers", str(TOY), *SMALL, "--only", "carrot", "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["analysis"] == "lever_effects" and len(doc["scenario_sha256"]) == 64
    assert [(r["lever"], r["intensity"]) for r in doc["rows"]] == [("carrot", 0.25), ("carrot", 0.5), ("carrot", 1.0)]
    assert {"d_p12", "d_p12_se", "d_p24", "d_p24_se", "d_p12_certain", "cost"} <= set(doc["rows"][0])


def test_cli_grid_and_price_as_json() -> None:
    result = runner.invoke(app, ["levers", str(TOY), *SMALL, "--grid", "carrot,more-aid", "--intensities", "1",
                                 "--json", "-"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["analysis"] == "lever_grid" and np.shape(doc["d_p12"]) == (2, 2)
    result = runner.invoke(app, ["levers", str(TOY), *SMALL, "--target", "0.9", "--within", "12", "--only",
                                 "no-effect", "--search-samples", "4", "--search-paths", "8", "--steps", "2",
                                 "--popsize", "2", "--maxiter", "2", "--json", "-"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["analysis"] == "price_of_peace" and doc["reached"] is False
    assert "no package reaches" in doc["verdict"]


def test_cli_refuses_an_unknown_lever_before_the_baseline_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """At default sizes the baseline takes minutes: a misspelt lever is refused before it starts."""

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the baseline ran")

    monkeypatch.setattr("ceasefire.analysis.levers.baseline_run", no_run)
    for option in (["--only", "carrot,nope"], ["--grid", "nope,carrot"]):
        result = runner.invoke(app, ["levers", str(TOY), *option])
        assert result.exit_code == 2 and "unknown lever 'nope'" in result.output, result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--only", "carrot,nope"], "unknown lever 'nope'"),
        (["--grid", "carrot"], "expected 2 lever names"),
        (["--grid", "carrot,nope"], "unknown lever 'nope'"),
        (["--grid", "carrot,carrot"], "two different levers"),
        (["--target", "1.5"], "--target 1.5: expected a probability in (0, 1]"),
        (
            ["--target", "0.5", "--only", "carrot", "--within", "99"],
            "--within 99: a settlement within 99 months is beyond the horizon",
        ),
        (["--target", "0.5"], "different units"),
        (["--within", "12"], "--within goes with --target"),
        (["--grid", "carrot,more-aid", "--target", "0.5"], "choose one of --grid and --target"),
        (["--intensities", "a,b"], "expected numbers"),
        (["--intensities", "-1"], "intensities must be positive"),
        (["--policy", "clairvoyant"], "expected one of"),
    ],
)
def test_cli_bad_input_exits_2_with_a_clear_message(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["levers", str(TOY), "--samples", "2", "--paths", "4", *args])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_bad_target_type_exits_2() -> None:
    result = runner.invoke(app, ["levers", str(TOY), "--target", "half"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
