"""Forward-looking leaders in the engine: beliefs, optimism, the bargaining range, breakdowns."""

from __future__ import annotations

import numpy as np
import pytest

from ceasefire.model.valuation import victory
from ceasefire.run.experiment import RunResult, run
from ceasefire.run.sampling import sample_parameters
from ceasefire.run.summary import belief_effect, summarize
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.params import Fixed
from ceasefire.scenario.schema import SIDES, Scenario
from test_engine import assert_same_outcomes, flagship, small_spec


def with_leader(scenario: Scenario, **values: float) -> Scenario:
    """The scenario with the given leader parameters fixed, for both leaders."""
    leaders = {}
    for s in SIDES:
        ld = scenario.leaders[s]  # type: ignore[index]
        update = {k: Fixed(value=v, source="assumption", note="test") for k, v in values.items()}
        leaders[s] = ld.model_copy(update=update)
    return scenario.model_copy(update={"leaders": {**scenario.leaders, **leaders}})


def test_unbiased_beliefs_are_the_truth() -> None:
    sc = with_leader(flagship(), optimism=0.0, resolve_doubt=0.0)
    a = run(sc, small_spec(samples=4, paths=20, record=True))
    b = run(sc, small_spec(samples=4, paths=20, record=True, beliefs="true"), samples_of=a)
    assert_same_outcomes(a.outcomes, b.outcomes)


def _optimism_runs(level: float) -> tuple[RunResult, RunResult]:
    sc = with_leader(flagship(), optimism=level)
    biased = run(sc, small_spec(samples=12, paths=60, horizon=36))
    truth = run(sc, small_spec(samples=12, paths=60, horizon=36, beliefs="true"), samples_of=biased)
    return biased, truth


def test_mutual_optimism_delays_settlement() -> None:
    biased, truth = _optimism_runs(0.5)
    effect = belief_effect(biased, truth)
    # each leader overrates his own side by a factor e^0.5 = 1.65: both expect more from fighting on
    assert effect.delay_months > 1.0, effect
    assert effect.settle_within_24_scenario < effect.settle_within_24_true, effect
    assert np.array_equal(biased.candidates, truth.candidates)


def test_reported_ceasefire_survival_agrees_with_the_simulated_ceasefires() -> None:
    """The summary's holding probabilities (Kaplan-Meier, censored at the horizon: Model 2's breakdowns
    fade with the ceasefire's age and leaders may resume, so there is no closed form) against a direct
    count: among the first ceasefires signed early enough to be followed ``m`` months, the share that did
    not break within them. The survival by year is the same estimate, year end by year end."""
    result = run(flagship(), small_spec(samples=20, paths=100))
    summary = summarize(result)
    o = result.outcomes
    settled = o.first_settlement >= 0
    n = int(settled.sum())
    assert n > 200
    signed, held, broke = o.first_settlement[settled], o.ceasefire_months[settled], o.ceasefire_broke[settled]
    by_year = {y.year: y for y in summary.ceasefire_survival}
    for label, months in (("1 year", 12), ("2 years", 24)):
        km = summary.ceasefire_holds[label]
        assert km is not None and by_year[months // 12].holds == km
        followed = signed + months <= summary.horizon
        assert followed.sum() > 100
        observed = float(np.mean(~(broke[followed] & (held[followed] <= months))))
        se = np.sqrt(km * (1 - km) / followed.sum())
        assert abs(km - observed) < 4 * se + 0.02, (label, km, observed)
    holds = [y.holds for y in summary.ceasefire_survival if y.holds is not None]
    assert len(holds) >= 2 and holds == sorted(holds, reverse=True) and holds[-1] > 0
    assert by_year[1].at_risk == n and all(y.hazard is None or y.hazard >= 0 for y in by_year.values())
    # every first ceasefire's monthly breakdown probability (at signing) is known, and only theirs
    assert np.all(np.isfinite(o.ceasefire_break_rate[settled]))
    assert np.all(np.isnan(o.ceasefire_break_rate[~settled]))


def test_guarantees_make_ceasefires_hold_longer() -> None:
    result = run(flagship(), small_spec(samples=20, paths=100))
    o = result.outcomes
    st = structure_of(result.scenario)
    settled = o.first_settlement >= 0
    guaranteed = st.guarantees[np.maximum(o.first_terms, 0)] & settled
    plain = ~st.guarantees[np.maximum(o.first_terms, 0)] & settled
    assert guaranteed.any() and plain.any()
    assert o.ceasefire_break_rate[guaranteed].mean() < o.ceasefire_break_rate[plain].mean()


def test_bargaining_range_is_reported_and_well_formed() -> None:
    result = run(flagship(), small_spec(samples=8, paths=50))
    months = summarize(result).bargaining_range
    assert months, "the flagship has a bargaining range in some month"
    for m in months:
        assert 0.0 <= m.low <= m.high <= 1.0
        assert 0.0 < m.exists <= 1.0 + 1e-9 and 0.0 < m.at_war <= 1.0
    low, high = result.outcomes.monthly["range_low"], result.outcomes.monthly["range_high"]
    assert np.array_equal(np.isnan(low), np.isnan(high))
    # no range is recorded on a path at peace
    at_war = result.outcomes.monthly["at_war_decision"].astype(bool)
    assert np.all(np.isnan(low[~at_war]))


def test_a_deal_is_struck_only_inside_the_leaders_acceptance() -> None:
    result = run(flagship(), small_spec(samples=8, paths=50, record=True))
    o, tr = result.outcomes, result.outcomes.trajectories
    settled = np.flatnonzero(o.first_settlement >= 0)
    assert settled.size
    for path in settled:
        t, k = o.first_settlement[path], o.first_terms[path]
        term = result.terms[k]
        assert tr[f"gain_A_{term}"][t, path] >= 0 and tr[f"gain_B_{term}"][t, path] >= 0


@pytest.mark.parametrize("kappa", [1.0, 1.3])
def test_with_a_ratchet_concessions_never_raise_a_victory_score(kappa: float) -> None:
    """Opportunism: each concession received raises the aspiration at least as much (Aron's reason 6)."""
    sc = flagship()
    st = structure_of(sc)
    values = sample_parameters(sc, 16, 3)
    values["leaders.A.reasons.opportunism"] = np.full(16, kappa)
    rng = np.random.default_rng(5)
    progress = rng.random((16, st.n_objectives))
    base = victory(st, "A", progress, params_of(st, values).leaders.A)
    for carrot in (0.05, 0.2, 1.0):
        more = dict(values)
        more["leaders.A.concession_received"] = values["leaders.A.concession_received"] + carrot
        with_carrot = victory(st, "A", progress, params_of(st, more).leaders.A)
        assert np.all(with_carrot <= base + 1e-12)


def test_without_a_ratchet_a_concession_helps() -> None:
    sc = flagship()
    st = structure_of(sc)
    values = sample_parameters(sc, 16, 3)
    values["leaders.A.reasons.opportunism"] = np.zeros(16)
    progress = np.zeros((16, st.n_objectives))
    base = victory(st, "A", progress, params_of(st, values).leaders.A)
    more = dict(values)
    more["leaders.A.concession_received"] = values["leaders.A.concession_received"] + 0.2
    assert np.all(victory(st, "A", progress, params_of(st, more).leaders.A) >= base)
    assert np.any(victory(st, "A", progress, params_of(st, more).leaders.A) > base)


def test_the_carrot_with_a_ratchet_does_not_bring_a_deal_sooner() -> None:
    """End to end: with kappa >= 1 a carrot lowers Russia's score of every deal, so it cannot make
    a deal acceptable to both leaders that was not before, month by month on the same paths,
    under the myopic rule whose value of fighting on does not depend on the deals' values."""
    sc = flagship()
    base = run(sc, small_spec(samples=10, paths=40, policy="myopic", record=True))
    carrot = run(
        sc, small_spec(samples=10, paths=40, policy="myopic", record=True, levers={"carrot": 1.0}), samples_of=base
    )
    # the flagship's opportunism is uniform(1.0, 1.5): a ratchet of at least one on every sample
    assert np.all(base.parameters["leaders.A.reasons.opportunism"] >= 1.0)
    p_base = np.mean((base.outcomes.first_settlement >= 0) & (base.outcomes.first_settlement < 24))
    p_carrot = np.mean((carrot.outcomes.first_settlement >= 0) & (carrot.outcomes.first_settlement < 24))
    assert p_carrot <= p_base


def test_month_zero_decision_is_the_same_on_every_path_of_a_sample() -> None:
    """The observed-start screen relies on it: the state and both leaders' values in month 0 do
    not depend on the path (the optimal leader's continuation value is a mean over his imagined war)."""
    result = run(flagship(), small_spec(samples=6, paths=30, record=True))
    tr = result.outcomes.trajectories
    for s in SIDES:
        for term in result.terms:
            g = tr[f"gain_{s}_{term}"][0].reshape(6, 30)
            assert np.all(g == g[:, :1]), (s, term)


def _policy_value(ps: object, stop_now: np.ndarray) -> np.ndarray:
    """Mean value per sample of a given stopping rule ``stop_now`` (T+1, B, n) on a PathSet."""
    stop, flow, disc, term = ps.stop, ps.flow, np.broadcast_to(ps.discount, ps.flow.shape), ps.terminal  # type: ignore[attr-defined]
    T = stop.shape[0] - 1
    value = np.zeros(stop.shape[1:])
    weight = np.ones(stop.shape[1:])
    alive = np.ones(stop.shape[1:], dtype=bool)
    for t in range(T + 1):
        here = alive & stop_now[t] & ~np.isnan(stop[t])
        value += np.where(here, weight * np.nan_to_num(stop[t]), 0.0)
        alive &= ~here
        if t == T:
            value += np.where(alive, weight * term, 0.0)
        else:
            value += np.where(alive, weight * flow[t], 0.0)
            weight = weight * disc[t]
    return value.mean(axis=1)  # type: ignore[no-any-return]


@pytest.mark.parametrize("side", SIDES)
def test_the_fitted_rule_beats_simple_rules_out_of_sample(side: str) -> None:
    """On a leader's own stopping problem, the least-squares rule followed on independent paths of
    his imagined war is worth at least as much as never settling and as settling at the first chance."""
    from ceasefire.model.backend import NUMPY
    from ceasefire.model.decision import RIDGE
    from ceasefire.model.engine import draw_noise, per_path, war_setup
    from ceasefire.model.params import Pair
    from ceasefire.model.rules import imagined_problems
    from ceasefire.model.valuation import Exact
    from ceasefire.run.sampling import Seeds
    from ceasefire.solve.lsm import OptimalStopping

    sc = flagship()
    st = structure_of(sc)
    samples, paths, horizon = 6, 400, 36
    values = sample_parameters(sc, samples, 11)
    params = params_of(st, per_path(values, paths))
    seeds = [Seeds.from_seed(3).path_seed(c) for c in range(samples)]
    optimism = params.leaders[side].optimism
    bias = Pair(optimism, 0.0) if side == "A" else Pair(0.0, optimism)
    sets = []
    for stream in (1, 2):  # two independent imagined wars of the same leader
        lever_u, z, u = draw_noise(seeds, stream, paths, horizon, len(st.levers))
        w = war_setup(st, params, None, lever_u, bias)
        doubt = w.p.leaders[side].resolve_doubt
        sets.append(imagined_problems(w, st, side, z, u, samples, paths, doubt, Exact(NUMPY))[0])
    train, test = sets
    result = OptimalStopping(train, basis="polynomial", degree=2, ridge=RIDGE).solve(test)
    never = _policy_value(test, np.zeros(test.stop.shape, dtype=bool))
    first = _policy_value(test, np.ones(test.stop.shape, dtype=bool))
    tol = 3 * result.stderr + 1e-9
    assert np.all(result.value >= never - tol), (result.value, never)
    assert np.all(result.value >= first - tol), (result.value, first)
    # and it is a real choice on some sample: strictly better than one of the simple rules
    assert np.any(result.value > np.minimum(never, first) + tol)
