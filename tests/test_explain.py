"""`ceasefire explain`: exact Shapley values, the leader's calculus reproduced for every coalition."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ceasefire.analysis.explain import explain, shapley
from ceasefire.cli import app
from ceasefire.errors import CeasefireError
from ceasefire.model import leader, screen
from ceasefire.model.backend import NUMPY
from ceasefire.model.calculus import month_of, month_values, record, removal_uniforms, stopping_problem
from ceasefire.model.engine import IMAGINED, TRUE_WORLD, draw_noise, per_path, war_setup
from ceasefire.model.params import Pair, map_leaves
from ceasefire.model.rules import imagined_problems
from ceasefire.model.valuation import Exact, TermScores, Valuation, battlefield
from ceasefire.model.war import N_NORMAL, N_UNIFORM
from ceasefire.run.experiment import RunSpec, candidate_parameters, run
from ceasefire.run.sampling import Seeds
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.load import load_scenario

DATA = Path(__file__).parent / "data"
TOY = DATA / "explain-toy.toml"
FLAGSHIP_NAME = "russia-ukraine-2026"


# -- Shapley values of games known by hand --------------------------------------------------------


def table(k: int, value) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([value({i for i in range(k) if m >> i & 1}) for m in range(1 << k)], dtype=float)


def test_additive_game_gives_each_player_his_own_contribution() -> None:
    a = [3.0, -1.5, 0.25, 7.0]
    phi = shapley(table(4, lambda s: 10.0 + sum(a[i] for i in s)))
    np.testing.assert_allclose(phi, a, atol=1e-12)


def test_symmetric_game_splits_equally() -> None:
    # v(S) = |S|^2: every player gets v(N) / k
    phi = shapley(table(5, lambda s: len(s) ** 2))
    np.testing.assert_allclose(phi, [5.0] * 5, atol=1e-12)


def test_glove_game_by_hand() -> None:
    # player 0 holds a left glove, players 1 and 2 right gloves; a pair is worth 1:
    # by hand, phi = (2/3, 1/6, 1/6)
    phi = shapley(table(3, lambda s: float(0 in s and (1 in s or 2 in s))))
    np.testing.assert_allclose(phi, [2 / 3, 1 / 6, 1 / 6], atol=1e-12)


def test_dummy_player_gets_zero() -> None:
    phi = shapley(table(3, lambda s: 2.0 * (0 in s) * (1 in s) + 1.0 * (0 in s)))
    assert phi[2] == 0.0


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_efficiency_and_symmetry_on_random_games(k: int, seed: int) -> None:
    v = np.random.default_rng(seed).normal(size=(1 << k, 3))
    phi = shapley(v)
    np.testing.assert_allclose(phi.sum(axis=0), v[-1] - v[0], atol=1e-9)
    # swapping two players' bits in every coalition swaps their values
    if k >= 2:
        masks = np.arange(1 << k)
        swapped = masks & ~3 | (masks & 1) << 1 | (masks >> 1) & 1
        phi_s = shapley(v[swapped])
        np.testing.assert_allclose(phi_s[[1, 0]], phi[:2], atol=1e-9)


def test_shapley_needs_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="2\\^k"):
        shapley(np.zeros(6))


# -- the calculus kernels against the engine's ------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 0.05), st.floats(0.0, 0.2), st.floats(1.0, 30.0), st.floats(0.9, 0.999), st.floats(0.0, 200.0))
def test_series_parts_reproduce_the_peace_value(
    rate: float, shock: float, tau: float, delta: float, pun: float
) -> None:
    """The series split so that the flow and the shock's cost (the punishment) are applied last:
    ``V = a P0 - c P1`` with ``a = 1 - lambda0 Pi`` and ``c = J Pi`` is the value of peace, and the
    shared form agrees with the series summed in one piece for any flow and shock cost."""
    args = (np.array([rate]), np.array([shock]), np.array([tau]), np.array([delta]))
    p0, p1 = leader.series_parts(*args)
    expected = leader.peace_value(
        np.array([rate]), np.array([shock]), np.array([tau]), np.array([pun]), np.array([delta])
    )
    assert (1.0 - rate * pun) * p0[0] - shock * pun * p1[0] == pytest.approx(expected[0], rel=1e-9, abs=1e-9)
    a, c = np.array([0.7 - rate * pun]), np.array([shock * pun + 0.3])
    shared = leader.peace_series_shared(*args, a, c)
    assert shared[0] == pytest.approx(leader.peace_series(*args, a, c)[0], rel=1e-9, abs=1e-9)


def _world_setup(samples: int = 2, paths: int = 6, months: int = 8):  # type: ignore[no-untyped-def]
    sc = load_scenario(TOY)
    seeds = Seeds.from_seed(3)
    values = candidate_parameters(sc, samples, seeds, 0)
    st_ = structure_of(sc)
    pp = params_of(st_, per_path(values, paths))
    path_seeds = [seeds.path_seed(i) for i in range(samples)]
    return sc, st_, pp, path_seeds


def _variants(pp, side: str):  # type: ignore[no-untyped-def]
    """The leader's parameters with two leading axes of one variant each, as the explanation lays them out."""
    return map_leaves(lambda a: np.asarray(a, dtype=float)[None, None, ...], pp.leaders[side])


def test_month_values_match_the_engines_valuation() -> None:
    """The explanation's values (the series shared among variants) are the engine's (NumPy's series)."""
    _, st_, pp, seeds = _world_setup()
    _, z, u = draw_noise(seeds, TRUE_WORLD, 6, 8, len(st_.levers))
    w = war_setup(st_, pp, None, np.zeros((12, len(st_.levers))))
    rec = record(w, st_, z, u, 8)
    exact = Exact(NUMPY)
    broken = np.full(12, float(st_.prior_broken))
    for t in range(9):
        obs = month_of(rec, t)
        for side in ("A", "B"):
            ld = pp.leaders[side]
            vb, hb = battlefield(st_, side, obs.progress, ld)
            v = Valuation.of(
                ld, None, obs.casualty_ratio[side], obs.pain[side], obs.stability_loss[side], vb, hb,
                pp.ceasefire, broken,
            )  # fmt: skip
            deals = TermScores(st_, side, obs.progress, ld, pp.terms).deals()
            (engine_peace,) = exact.values([(v, deals)])
            mine = month_values(st_, side, _variants(pp, side), obs, pp.terms, pp.ceasefire, broken)
            np.testing.assert_allclose(mine.stay[0, 0], v.stay, rtol=1e-12)
            np.testing.assert_allclose(mine.peace_now[0, 0], engine_peace, rtol=1e-9)
            np.testing.assert_allclose(mine.val.war_cashflow[0, 0], v.war_cashflow, rtol=1e-12)


def test_stopping_problem_matches_the_engines_imagined_paths() -> None:
    _, st_, pp, seeds = _world_setup()
    samples, paths, months = 2, 6, 8
    for side in ("A", "B"):
        _, z, u = draw_noise(seeds, IMAGINED[side], paths, months, len(st_.levers))
        optimism = pp.leaders[side].optimism
        bias = Pair(optimism, 0.0) if side == "A" else Pair(0.0, optimism)
        other = "B" if side == "A" else "A"
        w = war_setup(st_, pp, None, np.zeros((samples * paths, len(st_.levers))), bias)
        doubt = w.p.leaders[side].resolve_doubt
        engine, _ = imagined_problems(w, st_, side, z, u, samples, paths, doubt, screen.Lazy())
        rec = record(w, st_, z, u, months)
        remove = removal_uniforms(u, other)
        leaders = Pair.of(lambda s: _variants(pp, s))
        mine = stopping_problem(st_, side, rec, leaders, remove, (1, 1), samples, pp.terms, pp.ceasefire)
        np.testing.assert_allclose(mine.state, engine.state, rtol=1e-9)
        np.testing.assert_allclose(mine.stop, engine.stop, rtol=1e-9)
        np.testing.assert_allclose(np.asarray(mine.flow), np.asarray(engine.flow), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(mine.discount), np.asarray(engine.discount), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(mine.terminal), np.asarray(engine.terminal), rtol=1e-12)


# -- explain end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def explained() -> dict[str, object]:
    sc = load_scenario(TOY)
    return {side: explain(sc, side=side, seed=5, samples=3, paths=12, horizon=10) for side in ("A", "B")}


def test_the_parts_sum_to_the_gap(explained: dict[str, object]) -> None:
    for e in explained.values():
        total = sum(f.shapley for f in e.factors)  # type: ignore[attr-defined]
        assert total == pytest.approx(e.gap - e.neutral_gap, abs=1e-9)  # type: ignore[attr-defined]
        shares = [f.share for f in e.factors if f.share is not None]  # type: ignore[attr-defined]
        assert sum(shares) == pytest.approx(1.0, abs=1e-9)


def test_a_factor_no_leader_weighs_gets_zero_and_symmetric_factors_share_equally(explained: dict[str, object]) -> None:
    e = explained["A"]
    parts = {f.id: f for f in e.factors}  # type: ignore[attr-defined]
    assert parts["dummy"].shapley == 0.0
    # war_economy and risk_of_change are both fixed at 0.01 and enter only through their sum
    assert parts["war-economy"].shapley == pytest.approx(parts["risk-of-change"].shapley, rel=1e-9, abs=1e-12)
    assert parts["war-economy"].shapley != 0.0
    assert parts["pain"].moves_war and not parts["punishment"].moves_war
    ranked = [abs(f.shapley) for f in e.factors]  # type: ignore[attr-defined]
    assert ranked == sorted(ranked, reverse=True)


def test_groups_apply_to_their_sides(explained: dict[str, object]) -> None:
    ids_a = {f.id for f in explained["A"].factors}  # type: ignore[attr-defined]
    ids_b = {f.id for f in explained["B"].factors}  # type: ignore[attr-defined]
    assert ids_a == {"war-economy", "risk-of-change", "punishment", "pain", "dummy"}
    assert ids_b == {"war-economy", "risk-of-change", "b-legitimacy"}
    assert explained["B"].sizes["coalitions"] == 8  # type: ignore[attr-defined]


def test_full_coalition_is_the_engines_calculus_at_month_0() -> None:
    """With every factor at its scenario value, the values are those the engine's leader decides on."""
    sc = load_scenario(TOY)
    e = explain(sc, side="A", seed=5, samples=3, paths=12, horizon=10)
    spec = RunSpec.from_scenario(sc, samples=3, paths=12, seed=5, horizon=10, record=True)
    result = run(sc, spec)
    st_ = structure_of(sc)
    pp = params_of(st_, per_path(result.parameters, 12))
    w = war_setup(st_, pp, None, np.zeros((36, len(st_.levers))))
    obs = month_of(record(w, st_, np.zeros((0, 36, N_NORMAL)), np.zeros((0, 36, N_UNIFORM)), 0), 0)
    ld = pp.leaders.A
    vb, hb = battlefield(st_, "A", obs.progress, ld)
    broken = np.full(36, float(st_.prior_broken))
    v = Valuation.of(
        ld, np.zeros(36, dtype=bool), obs.casualty_ratio.A, obs.pain.A, obs.stability_loss.A, vb, hb,
        pp.ceasefire, broken,
    )  # fmt: skip
    deals = TermScores(st_, "A", obs.progress, ld, pp.terms).deals()
    (peace_now,) = Exact(NUMPY).values([(v, deals)])
    k = st_.terms.index("status-quo")
    gain = result.outcomes.trajectories["gain_A_status-quo"][0]
    fight_engine = peace_now[:, k] - gain
    assert e.fight_value == pytest.approx(fight_engine.mean(), rel=1e-9)
    assert e.terms == pytest.approx({"status-quo": peace_now[:, k].mean()}, rel=1e-9)
    assert e.gap == pytest.approx(-gain.mean(), rel=1e-9, abs=1e-9)


def test_explanation_is_reproducible_and_json_safe(explained: dict[str, object]) -> None:
    sc = load_scenario(TOY)
    again = explain(sc, side="B", seed=5, samples=3, paths=12, horizon=10)
    assert again.gap == explained["B"].gap  # type: ignore[attr-defined]
    doc = again.to_dict()
    json.dumps(doc, allow_nan=False)
    assert set(doc) >= {"side", "leader", "month", "fight_value", "terms", "best_terms", "gap", "factors", "seconds"}
    assert set(doc["factors"][0]) >= {"id", "name", "shapley", "share", "source"}


def test_the_explanation_does_not_depend_on_the_number_of_workers() -> None:
    sc = load_scenario(TOY)
    one, two = (explain(sc, side="A", seed=5, samples=3, paths=12, horizon=10, workers=w).to_dict() for w in (1, 2))
    assert one.pop("seconds") > 0 and two.pop("seconds") > 0
    assert one["sizes"]["war_coalitions"] == 4  # units of coalitions, one per world the war is fought in
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    sizes = ["--seed", "5", "--samples", "3", "--paths", "12", "--horizon", "10"]
    cli = CliRunner().invoke(app, ["explain", str(TOY), *sizes, "--workers", "2", "--json", "-"])
    assert cli.exit_code == 0, cli.output
    doc = json.loads(cli.stdout)
    assert doc.pop("seconds") > 0 and json.dumps(doc, sort_keys=True) == json.dumps(one, sort_keys=True)


def test_later_month_and_named_terms() -> None:
    sc = load_scenario(TOY)
    e = explain(sc, side="A", month=4, terms="freeze", seed=5, samples=3, paths=12, horizon=10)
    assert e.compared_terms == "freeze"
    assert set(e.terms) == {"status-quo", "freeze"}  # freeze is on the table from month 3
    assert e.gap == pytest.approx(e.fight_value - e.terms["freeze"], rel=1e-9)
    assert sum(f.shapley for f in e.factors) == pytest.approx(e.gap - e.neutral_gap, abs=1e-9)


def test_bad_requests_are_clear_errors() -> None:
    sc = load_scenario(TOY)
    with pytest.raises(CeasefireError, match=r"month must lie in 0 \.\. 9"):
        explain(sc, month=10, samples=3, paths=12, horizon=10)
    with pytest.raises(CeasefireError, match="not on the table in month 0"):
        explain(sc, terms="freeze", samples=3, paths=12, horizon=10)


def test_without_factors_the_values_and_the_gap_are_shown() -> None:
    """A scenario with no ``[[factors]]``: the leader's values and his gap, with nothing to decompose it into
    (the gap is then its own neutral gap)."""
    sc = load_scenario(DATA / "toy.toml")
    e = explain(sc, side="A", samples=3, paths=12, horizon=10, seed=5)
    assert e.factors == () and e.sizes["coalitions"] == 1
    assert e.gap == e.neutral_gap and math.isfinite(e.fight_value) and e.terms
    assert e.best_value >= max(e.terms.values()) - 1e-9  # the mean of the per-sample best
    out = CliRunner().invoke(app, ["explain", str(DATA / "toy.toml"), "--samples", "3", "--paths", "12",
                                   "--horizon", "10"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "fight on" in out.output and "not decomposed" in out.output


def test_cli_explain_json_and_errors() -> None:
    runner = CliRunner()
    out = runner.invoke(
        app, ["explain", str(TOY), "--side", "B", "--samples", "2", "--paths", "8", "--horizon", "6", "--json", "-"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["side"] == "B" and math.isfinite(doc["gap"])
    bad = runner.invoke(app, ["explain", str(TOY), "--side", "C"])
    assert bad.exit_code == 2 and "expected A or B" in bad.output
    # no [[factors]]: not an error since explain shows the values and the gap without decomposing them
    none = runner.invoke(app, ["explain", str(DATA / "toy.toml"), "--samples", "2", "--paths", "4"])
    assert none.exit_code == 0 and "declares no [[factors]]" in none.output, none.output
    none_json = runner.invoke(
        app, ["explain", str(DATA / "toy.toml"), "--samples", "2", "--paths", "4", "--horizon", "6", "--json", "-"]
    )
    assert none_json.exit_code == 0, none_json.output
    doc = json.loads(none_json.stdout)
    assert doc["factors"] == [] and doc["gap"] == doc["neutral_gap"]
    table = runner.invoke(app, ["explain", str(TOY), "--samples", "2", "--paths", "8", "--horizon", "6"])
    assert table.exit_code == 0 and "Shapley" in table.stdout


def test_subsets_of_factors_are_consistent() -> None:
    """Each coalition's value does not depend on how coalitions are batched (common random numbers)."""
    import ceasefire.analysis.explain as ex

    sc = load_scenario(TOY)
    small = ex.BATCH_ENTRIES
    try:
        ex.BATCH_ENTRIES = 1
        one = explain(sc, side="A", seed=5, samples=3, paths=12, horizon=10)
    finally:
        ex.BATCH_ENTRIES = small
    two = explain(sc, side="A", seed=5, samples=3, paths=12, horizon=10)
    for a, b in zip(one.factors, two.factors, strict=True):
        assert a.shapley == pytest.approx(b.shapley, rel=1e-9, abs=1e-12)


def test_within_reach_picks_his_best_among_what_the_other_signs() -> None:
    from ceasefire.analysis.explain import _within_reach

    his = np.array([[5.0, 3.0, 1.0], [5.0, 3.0, 1.0], [5.0, 3.0, 1.0]])
    other_gain = np.array(
        [
            [-1.0, 0.5, 2.0],  # the other signs terms 1 and 2: his best of those is 1
            [-1.0, -0.5, -2.0],  # the other signs none: the one he refuses least is 1
            [0.0, 1.0, 1.0],  # a gain of exactly 0 is a signature: terms 0
        ]
    )
    assert _within_reach(his, other_gain, np.array([True, True, True])).tolist() == [1, 1, 0]
    # terms not yet on the table are never chosen
    assert _within_reach(his, other_gain, np.array([True, False, True])).tolist() == [2, 0, 0]


def test_default_compares_with_a_deal_the_other_leader_would_sign() -> None:
    sc = load_scenario(FLAGSHIP_NAME)
    sizes = {"seed": 3, "samples": 3, "paths": 12, "horizon": 8}
    within = explain(sc, side="A", **sizes)  # type: ignore[arg-type]
    best = explain(sc, side="A", terms="best", **sizes)  # type: ignore[arg-type]
    # his own best terms are worth at least the ones within reach, so the gap to them is no larger
    assert best.gap <= within.gap + 1e-12
    assert best.gap == pytest.approx(best.fight_value - best.best_value, rel=1e-12, abs=1e-12)
    assert sum(within.compared_share.values()) == pytest.approx(1.0)
    assert "would sign" in within.compared_terms
    for e in (within, best):
        assert sum(f.shapley for f in e.factors) == pytest.approx(e.gap - e.neutral_gap, abs=1e-9)
    # the compared terms, per sample, are held fixed: the gap is to one deal, not to a changing best
    named = max(within.compared_share, key=within.compared_share.__getitem__)
    if within.compared_share[named] == 1.0:
        fixed = explain(sc, side="A", terms=named, **sizes)  # type: ignore[arg-type]
        assert fixed.gap == pytest.approx(within.gap, rel=1e-12, abs=1e-12)
