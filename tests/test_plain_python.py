"""The benchmark's plain-Python model (bench/plain_python.py) is the engine's model: fed the engine's
random numbers it follows the engine path by path, and with its own it gives the same distribution
within Monte Carlo error.

The plain-Python model is an independent re-implementation of Model 2 under the myopic policy
(nothing of ``ceasefire.model`` imported): the war with forces rebuilt in peace, both commodity
prices, war spending falling to its peace share, the renewal of external money and the front
beyond the start line; the leaders' hazards; the value of peace with today's excess hazard and the
ceasefire's background breakdown fading over the transition; the decision to sign (the Nash choice
among terms both accept), settlement, removal and the background breakdown. The Model 2 mechanisms
it leaves out are set to their neutral values in the scenario compared (:func:`neutral_flagship`):
the policy outcome (``policy_weight`` 0), the war's direct cost (``war_cost`` 0), the audience cost
(``audience_hazard`` 0), talks with a lag (``negotiation_months`` 0), votes (no ``ratification``),
a leader's choice to resume a ceasefire (``resume_noise`` 0); the flagship has no terms removing a
leader, and the comparison runs no levers. Those mechanisms are checked against the engine elsewhere
(tests/test_model2.py, tests/test_ceasefire_choice.py), not here.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from ceasefire.model.engine import TRUE_WORLD, RunConfig, draw_noise, per_path
from ceasefire.run.sampling import Seeds, sample_parameters
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import Scenario
from conftest import simulate_flat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import plain_python as pp

SEED, SAMPLES, SAMPLE, HORIZON = 3, 12, 4, 24
"""A parameter sample of the neutral flagship where a myopic deal within the horizon is neither sure nor
impossible, so that both the months and the terms of settlement are tested."""


def neutral_flagship() -> Scenario:
    """The flagship with no votes on the terms (the other neutral values are set on the parameters:
    :data:`plain_python.NEUTRAL`)."""
    return pp.neutral_scenario(load_scenario("russia-ukraine-2026"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def case():  # type: ignore[no-untyped-def]
    sc = neutral_flagship()
    seeds = Seeds.from_seed(SEED)
    values = sample_parameters(sc, SAMPLES, seeds.parameters)
    one = {k: np.asarray(v[SAMPLE : SAMPLE + 1], dtype=float) for k, v in pp.neutral_values(values).items()}
    return sc, one, seeds.path_seed(SAMPLE)


def _engine(sc, one, seed, paths):  # type: ignore[no-untyped-def]
    config = RunConfig(horizon=HORIZON, policy="myopic", bargaining_range=False)
    return simulate_flat(sc, per_path(one, paths), [seed], paths, config)


def test_same_random_numbers_same_paths(case) -> None:  # type: ignore[no-untyped-def]
    sc, one, seed = case
    paths = 40
    out = _engine(sc, one, seed, paths)
    _, z, u = draw_noise([seed], TRUE_WORLD, paths, HORIZON, len(sc.levers))
    p = {k: float(v[0]) for k, v in one.items()}
    terms = pp.terms_of(sc)
    got = [pp.simulate_path(p, terms, HORIZON, 6, pp.given_noise(z[:, i], u[:, i])) for i in range(paths)]
    settled = out.first_settlement >= 0
    assert 0 < settled.sum() < paths  # an informative case: signings, breakdowns, removals, renewals
    assert out.breakdowns.sum() > 0 and (out.removed["A"] | out.removed["B"]).sum() > 0 and HORIZON > 11
    assert [g["first_settlement"] for g in got] == out.first_settlement.tolist()
    assert [g["first_terms"] for g in got] == out.first_terms.tolist()
    assert [g["settlements"] for g in got] == out.settlements.tolist()
    assert [g["breakdowns"] for g in got] == out.breakdowns.tolist()
    assert [g["removed_A"] for g in got] == out.removed["A"].tolist()
    assert [g["removed_B"] for g in got] == out.removed["B"].tolist()
    assert [g["at_war_at_end"] for g in got] == out.at_war_at_end.tolist()
    for key, ref in (
        ("casualties_A", out.casualties_total["A"]),
        ("casualties_B", out.casualties_total["B"]),
        ("casualties_to_settlement_A", out.casualties_to_settlement["A"]),
        ("held_at_end", out.held_at_end),
    ):
        np.testing.assert_allclose([g[key] for g in got], ref, rtol=1e-9, err_msg=key)


def test_own_random_numbers_same_distribution(case) -> None:  # type: ignore[no-untyped-def]
    sc, one, seed = case
    out = _engine(sc, one, seed, 4000)
    p = {k: float(v[0]) for k, v in one.items()}
    mine = pp.simulate(p, pp.terms_of(sc), paths=150, horizon=HORIZON, lookahead=6, seed=20260201)

    def z_score(a: np.ndarray, b: np.ndarray) -> float:
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        return abs(a.mean() - b.mean()) / se

    settled_engine = (out.first_settlement >= 0).astype(float)
    settled_plain = np.array([g["first_settlement"] >= 0 for g in mine], dtype=float)
    assert 0.1 < settled_engine.mean() < 0.9
    assert z_score(settled_engine, settled_plain) < 4.0
    for key, ref in (("casualties_A", out.casualties_total["A"]), ("held_at_end", out.held_at_end)):
        assert z_score(ref, np.array([g[key] for g in mine])) < 4.0, key


def test_own_noise_is_reproducible() -> None:
    a, b = pp.own_noise(random.Random(1)), pp.own_noise(random.Random(1))
    assert a(0) == b(0) and a(1) == b(1)
    assert len(a(2)[0]) == pp.N_NORMAL and len(a(3)[1]) == pp.N_UNIFORM and all(0.0 <= x < 1.0 for x in a(3)[1])


def test_peace_value_matches_the_engine_kernel() -> None:
    from ceasefire.model.leader import peace_series, peace_value

    rng = np.random.default_rng(0)
    for _ in range(50):
        args = (
            rng.uniform(0.001, 0.05),
            rng.uniform(0, 0.2),
            rng.uniform(3, 24),
            rng.uniform(1, 80),
            rng.uniform(0.9, 0.999),
        )
        assert pp.peace_value(*args) == pytest.approx(float(peace_value(*(np.float64(a) for a in args))), rel=1e-12)
        # the general series (a flow and a shock cost of either sign: a breakdown's value at war in them)
        rate, shock, tau, _, delta = args
        a, c = rng.uniform(-2, 2), rng.uniform(-2, 2)
        expected = float(peace_series(*(np.float64(x) for x in (rate, shock, tau, delta, a, c))))
        assert pp.peace_series(rate, shock, tau, delta, a, c) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_the_left_out_mechanisms_must_be_neutral(case) -> None:  # type: ignore[no-untyped-def]
    sc, one, _ = case
    p = {k: float(v[0]) for k, v in one.items()}
    noise = pp.own_noise(random.Random(0))
    with pytest.raises(ValueError, match="policy_weight"):
        pp.simulate_path({**p, "leaders.B.policy_weight": 0.5}, pp.terms_of(sc), 2, 6, noise)
    with pytest.raises(ValueError, match="votes"):
        pp.terms_of(load_scenario("russia-ukraine-2026"))
