"""Known answers and properties of the pure model kernels (no scenario, no engine)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from ceasefire.model import attrition, bargaining, economy, hazard, leader

Array = NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# attrition: Lanchester's square law


def lanchester_square(
    x0: float, y0: float, alpha: float, beta: float, months: int, substeps: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Deterministic Lanchester aimed-fire trajectories using :func:`.attrition.expected_losses`.

    ``x`` loses ``beta * y`` per month and ``y`` loses ``alpha * x``; each month is split into
    ``substeps`` Euler steps. Used to check the kernel against the square law.
    """
    x = np.array([x0], dtype=float)
    y = np.array([y0], dtype=float)
    xs, ys = [x0], [y0]
    one = np.ones(1)
    for _ in range(months):
        for _ in range(substeps):
            loss_x = attrition.expected_losses(beta * y0 * one / substeps, y / y0, one)
            loss_y = attrition.expected_losses(alpha * x0 * one / substeps, x / x0, one)
            x, y = np.maximum(x - loss_x, 0.0), np.maximum(y - loss_y, 0.0)
        xs.append(float(x[0]))
        ys.append(float(y[0]))
    return np.array(xs), np.array(ys)


def _survivors_and_invariant_error(substeps: int) -> tuple[float, float]:
    """Survivors of x once y is annihilated, and the worst relative drift of alpha x² − beta y²."""
    alpha = beta = 0.05
    xs, ys = lanchester_square(1000.0, 800.0, alpha, beta, months=60, substeps=substeps)
    assert ys[-1] == 0.0, "y should be annihilated within 60 months"
    invariant = alpha * xs**2 - beta * ys**2
    alive = ys > 0.0  # the law holds while both sides fight
    drift = float(np.max(np.abs(invariant[alive] / invariant[0] - 1.0)))
    return float(xs[-1]), drift


def test_lanchester_square_law_survivors() -> None:
    survivors, _ = _survivors_and_invariant_error(substeps=256)
    assert survivors == pytest.approx(math.sqrt(1000.0**2 - 800.0**2), rel=0.01)  # 600


def test_lanchester_square_law_invariant_conserved() -> None:
    _, drift = _survivors_and_invariant_error(substeps=64)
    assert drift < 0.01


def test_lanchester_square_law_converges_with_substeps() -> None:
    errors = []
    survivor_errors = []
    for substeps in (1, 4, 16, 64):
        survivors, drift = _survivors_and_invariant_error(substeps)
        errors.append(drift)
        survivor_errors.append(abs(survivors - 600.0))
    assert all(coarse > fine for coarse, fine in itertools.pairwise(errors))
    assert all(coarse > fine for coarse, fine in itertools.pairwise(survivor_errors))
    # Euler is first order: four times the substeps, about a quarter of the error
    assert errors[-2] / errors[-1] == pytest.approx(4.0, rel=0.2)


def test_lanchester_trajectories_monotone_and_non_negative() -> None:
    xs, ys = lanchester_square(1000.0, 800.0, 0.05, 0.05, months=60, substeps=4)
    assert xs[0] == 1000.0 and ys[0] == 800.0
    assert np.all(np.diff(xs) <= 0.0) and np.all(np.diff(ys) <= 0.0)
    assert np.all(xs >= 0.0) and np.all(ys >= 0.0)


def test_combat_power_is_one_at_the_start() -> None:
    m0 = np.array([700_000.0, 800_000.0])
    power = attrition.combat_power(m0, m0, np.array([0.5, 0.7]), np.ones(2), np.array([0.3, 0.6]))
    np.testing.assert_allclose(power, 1.0)


def test_objective_progress_fills_in_order() -> None:
    bounds = np.array([[0.0, 100.0, 300.0]] * 4)
    gained = np.array([-50.0, 50.0, 200.0, 1000.0])
    np.testing.assert_allclose(
        attrition.objective_progress(gained, bounds), [[0.0, 0.0], [0.5, 0.0], [1.0, 0.5], [1.0, 1.0]]
    )


# --------------------------------------------------------------------------------------------
# leader: value of office

_rates = st.floats(1e-4, 0.05)
_shocks = st.floats(0.0, 0.1)
_shock_months = st.floats(1.0, 36.0)
_punishments = st.floats(0.0, 300.0)
_deltas = st.floats(0.9, 0.999)


def _recursion_months(base_rate: float, delta: float) -> int:
    """Months after which the recursion's neglected tail is below 1e-13 of its first term.

    The reference's default of 3000 months is too short for ``delta`` near 0.999 with a small
    base rate (``(0.999 e^{-1e-4})^3000 ≈ 0.04``), so the horizon is chosen here.
    """
    r = delta * math.exp(-base_rate)
    return math.ceil(math.log(1e-13) / math.log(r)) + 10


@settings(max_examples=60, deadline=None)
@given(_rates, _shocks, _shock_months, _punishments, _deltas)
def test_peace_value_matches_recursion(
    base_rate: float, shock: float, shock_months: float, punishment: float, delta: float
) -> None:
    closed = float(
        leader.peace_value(
            np.float64(base_rate),
            np.float64(shock),
            np.float64(shock_months),
            np.float64(punishment),
            np.float64(delta),
        )
    )
    summed = leader.peace_value_by_recursion(
        base_rate, shock, shock_months, punishment, delta, months=_recursion_months(base_rate, delta)
    )
    # the value can cross zero; an absolute floor tied to the size of the summed terms
    scale = (1.0 + (base_rate + shock) * punishment) / (1.0 - delta * math.exp(-base_rate))
    assert closed == pytest.approx(summed, rel=1e-6, abs=1e-9 * scale)


@given(_rates, _shock_months, _punishments, _deltas)
def test_peace_value_without_shock_is_stationary(
    base_rate: float, shock_months: float, punishment: float, delta: float
) -> None:
    value = leader.peace_value(
        np.float64(base_rate), np.float64(0.0), np.float64(shock_months), np.float64(punishment), np.float64(delta)
    )
    expected = leader.stationary_value(
        np.float64(1.0), np.float64(base_rate), np.float64(punishment), np.float64(delta)
    )
    assert float(value) == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


def test_peace_value_does_not_depend_on_the_batch() -> None:
    rng = np.random.default_rng(0)
    n = 400
    args = (
        rng.uniform(1e-4, 0.01, n),
        rng.uniform(0.0, 0.05, n),
        rng.uniform(6.0, 18.0, n),
        rng.uniform(24.0, 120.0, n),
        rng.uniform(0.985, 0.995, n),
    )
    batch = leader.peace_value(*args)
    alone = np.array([leader.peace_value(*(a[i : i + 1] for a in args))[0] for i in range(n)])
    np.testing.assert_array_equal(batch, alone)


@given(_rates, _shocks, st.floats(1e-3, 0.05), _shock_months, _punishments, _deltas)
def test_peace_value_decreases_in_shock(
    base_rate: float, shock: float, extra: float, shock_months: float, punishment: float, delta: float
) -> None:
    lower, higher = leader.peace_value(
        np.float64(base_rate),
        np.array([shock, shock + extra]),
        np.float64(shock_months),
        np.float64(punishment),
        np.float64(delta),
    )
    assert higher < lower


@given(_rates, _shocks, _shock_months, _punishments, st.floats(0.5, 100.0), _deltas)
def test_peace_value_decreases_in_punishment(
    base_rate: float, shock: float, shock_months: float, punishment: float, extra: float, delta: float
) -> None:
    lower, higher = leader.peace_value(
        np.float64(base_rate),
        np.float64(shock),
        np.float64(shock_months),
        np.array([punishment, punishment + extra]),
        np.float64(delta),
    )
    assert higher < lower


def test_peace_value_broadcasts_over_terms() -> None:
    rates = np.array([0.001, 0.004, 0.01])[:, None]
    shocks = np.array([0.0, 0.01, 0.05, 0.1])[None, :]
    values = leader.peace_value(rates, shocks, np.float64(12.0), np.float64(60.0), np.float64(0.99))
    assert values.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            ref = leader.peace_value_by_recursion(float(rates[i, 0]), float(shocks[0, j]), 12.0, 60.0, 0.99)
            assert values[i, j] == pytest.approx(ref, rel=1e-9)


@given(_rates, _punishments, _deltas, st.floats(0.0, 0.2), st.floats(-500.0, 500.0))
def test_fight_value_zero_months_is_continuation(
    rate: float, punishment: float, delta: float, militarism: float, continuation: float
) -> None:
    value = leader.fight_value(
        np.float64(1.0 + militarism),
        np.float64(rate),
        np.float64(punishment),
        np.float64(delta),
        0,
        np.float64(continuation),
    )
    assert float(value) == pytest.approx(continuation, rel=1e-12, abs=1e-12)


@given(_rates, _punishments, st.floats(0.9, 0.99), st.floats(0.0, 0.2), st.floats(-500.0, 500.0))
def test_fight_value_long_horizon_tends_to_stationary(
    rate: float, punishment: float, delta: float, militarism: float, continuation: float
) -> None:
    flow = np.float64(1.0 + militarism)
    stationary = leader.stationary_value(flow, np.float64(rate), np.float64(punishment), np.float64(delta))
    value = leader.fight_value(
        flow, np.float64(rate), np.float64(punishment), np.float64(delta), 20_000, np.float64(continuation)
    )
    assert float(value) == pytest.approx(float(stationary), rel=1e-9, abs=1e-9)


def test_fight_value_is_stationary_when_continuation_is() -> None:
    flow, rate, pun, delta = np.float64(1.05), np.float64(0.006), np.float64(80.0), np.float64(0.99)
    stationary = leader.stationary_value(flow, rate, pun, delta)
    for months in (1, 6, 24):
        assert float(leader.fight_value(flow, rate, pun, delta, months, stationary)) == pytest.approx(
            float(stationary), rel=1e-12
        )


# --------------------------------------------------------------------------------------------
# bargaining: victory scores, the choice of terms, breakdowns


@st.composite
def _victory_inputs(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 4))
    aims = draw(st.integers(1, 5))
    terms = draw(st.integers(1, 4))
    unit = st.floats(0.0, 1.0)
    weights = draw(hnp.arrays(np.float64, aims, elements=st.floats(0.0, 1.0)))
    if weights.sum() <= 0.0:
        weights = weights + 1.0
    return {
        "attainment": draw(hnp.arrays(np.float64, (n, aims, terms), elements=unit)),
        "weights": weights,
        "aspiration": draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 1.5))),
        "concession": draw(hnp.arrays(np.float64, (n, terms), elements=st.floats(0.0, 0.5))),
        "concession_offered": draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 0.5))),
    }


def aim_attainment(granted: NDArray[np.bool_], progress: Array, effect_lost: NDArray[np.bool_]) -> Array:
    """How far each aim is met under each terms option.

    Parameters
    ----------
    granted
        ``(aims, terms)``: the terms meet the aim.
    progress
        ``(n, aims)``: progress of A on the objective the aim is tied to (0 where none).
    effect_lost
        ``(aims,)``: the aim is *lost* by A's progress (else achieved by it).

    Returns
    -------
    ``(n, aims, terms)`` attainment in [0, 1].
    """
    g = granted[None, :, :].astype(float)
    p = progress[:, :, None]
    lost = effect_lost[None, :, None]
    return np.where(lost, g * (1.0 - p), np.maximum(g, p))


def victory_score(
    attainment: Array,
    weights: NDArray[np.float64],
    aspiration: Array,
    concession: Array,
    concession_offered: Array,
    ratchet: Array,
) -> Array:
    """``(n, terms)`` victory scores from ``(n, aims, terms)`` attainment; see :mod:`.bargaining`'s docstring.

    ``concession`` is ``c_ik`` (shape ``(n, terms)``), ``concession_offered`` is ``C_i`` (``(n,)``).
    """
    score = np.einsum("nak,a->nk", attainment, weights / weights.sum())
    return bargaining.victory_from_score(score, aspiration, concession, concession_offered, ratchet)


def _score(inputs: dict[str, np.ndarray], ratchet: np.ndarray, added: float = 0.0) -> np.ndarray:
    return victory_score(
        inputs["attainment"],
        inputs["weights"],
        inputs["aspiration"],
        inputs["concession"] + added,
        inputs["concession_offered"] + added,
        ratchet,
    )


@given(_victory_inputs(), st.floats(1.0, 3.0), st.floats(0.0, 1.0))
def test_concessions_never_close_the_gap_with_ratchet(inputs: dict[str, np.ndarray], kappa: float, c: float) -> None:
    ratchet = np.full(inputs["aspiration"].shape, kappa)
    before, after = _score(inputs, ratchet), _score(inputs, ratchet, c)
    assert np.all((before >= 0.0) & (before <= 1.0))
    assert np.all(after <= before + 1e-12)


@given(_victory_inputs(), st.floats(0.0, 1.0))
def test_concessions_help_without_ratchet(inputs: dict[str, np.ndarray], c: float) -> None:
    ratchet = np.zeros(inputs["aspiration"].shape)
    before, after = _score(inputs, ratchet), _score(inputs, ratchet, c)
    assert np.all(after >= before - 1e-12)


def test_victory_score_known_values() -> None:
    # two aims weighted 3:1; terms 0 meet the first, terms 1 both
    attainment = np.array([[[1.0, 1.0], [0.0, 1.0]]])
    weights = np.array([3.0, 1.0])
    score = victory_score(attainment, weights, np.array([1.0]), np.zeros((1, 2)), np.zeros(1), np.zeros(1))
    np.testing.assert_allclose(score, [[0.75, 1.0]])
    # a lower aspiration is met by less
    score = victory_score(attainment, weights, np.array([0.8]), np.zeros((1, 2)), np.zeros(1), np.zeros(1))
    np.testing.assert_allclose(score, [[0.95, 1.0]])


def test_aim_attainment_achieved_and_lost() -> None:
    granted = np.array([[True, False], [False, True]])  # aim 0 by terms 0, aim 1 by terms 1
    progress = np.array([[0.4, 0.25]])
    lost = np.array([False, True])
    got = aim_attainment(granted, progress, lost)
    # achieved_by: max(granted, progress); lost_by: granted * (1 - progress)
    np.testing.assert_allclose(got, [[[1.0, 0.4], [0.0, 0.75]]])


def _brute_force_choice(gain_a: np.ndarray, gain_b: np.ndarray, available: np.ndarray) -> list[int]:
    out = []
    for row_a, row_b in zip(gain_a, gain_b, strict=True):
        best, best_nash = -1, -math.inf
        for k, (ga, gb) in enumerate(zip(row_a, row_b, strict=True)):
            if available[k] and ga >= 0.0 and gb >= 0.0 and ga * gb > best_nash:
                best, best_nash = k, ga * gb
        out.append(best)
    return out


@given(
    st.integers(1, 5).flatmap(
        lambda terms: st.tuples(
            hnp.arrays(np.float64, (6, terms), elements=st.floats(-5.0, 5.0)),
            hnp.arrays(np.float64, (6, terms), elements=st.floats(-5.0, 5.0)),
            hnp.arrays(np.bool_, terms),
        )
    )
)
def test_choose_terms_largest_nash_product(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    gain_a, gain_b, available = data
    chosen = bargaining.choose_terms(gain_a, gain_b, available)
    expected = _brute_force_choice(gain_a, gain_b, available)
    for row, (got, want) in enumerate(zip(chosen, expected, strict=True)):
        if want < 0:
            assert got == -1
        else:
            # ties may be broken either way; the product must be the best one
            assert got >= 0 and available[got]
            assert gain_a[row, got] >= 0.0 and gain_b[row, got] >= 0.0
            assert gain_a[row, got] * gain_b[row, got] == gain_a[row, want] * gain_b[row, want]


def test_choose_terms_known_answer() -> None:
    gain_a = np.array([[1.0, 2.0, 4.0], [-1.0, 3.0, 1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
    gain_b = np.array([[3.0, 2.0, 0.5], [5.0, -0.1, 1.0], [2.0, 2.0, -1.0], [1.0, 1.0, 9.0]])
    available = np.array([True, True, False])
    # row 0: products 3, 4 (terms 2 unavailable) -> 1; row 1: only terms 0 is mutual but A refuses,
    # terms 1 B refuses -> -1; row 2: nothing acceptable to both; row 3: 1, 1 -> first, 0
    np.testing.assert_array_equal(bargaining.choose_terms(gain_a, gain_b, available), [1, -1, -1, 0])


def test_choose_terms_zero_gain_is_acceptable() -> None:
    got = bargaining.choose_terms(np.array([[0.0]]), np.array([[0.0]]), np.array([True]))
    np.testing.assert_array_equal(got, [0])


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.999),
    st.floats(1.0, 3.0),
    st.integers(0, 20),
)
def test_breakdown_probability_bounds_and_guarantees(base: float, factor: float, record: float, broken: int) -> None:
    args = (np.float64(base), np.float64(factor), np.float64(record), np.float64(broken))
    with_g = float(bargaining.breakdown_probability(args[0], np.bool_(True), *args[1:]))
    without = float(bargaining.breakdown_probability(args[0], np.bool_(False), *args[1:]))
    assert 0.0 <= with_g <= 1.0 and 0.0 <= without <= 1.0
    assert with_g <= without
    unclipped = base * record**broken
    if 1e-300 < unclipped <= 1.0:  # below that, subnormal products round to the same number
        assert with_g < without
        assert with_g == pytest.approx(factor * unclipped)


def test_breakdown_probability_record_raises_it() -> None:
    p = bargaining.breakdown_probability(
        np.full(3, 0.01), np.zeros(3, dtype=bool), np.full(3, 0.5), np.full(3, 1.2), np.array([0.0, 1.0, 2.0])
    )
    np.testing.assert_allclose(p, [0.01, 0.012, 0.0144])


# --------------------------------------------------------------------------------------------
# hazard


@given(st.floats(0.0, 1.0 - 1e-9))
def test_monthly_rate_round_trips_annual_probability(p: float) -> None:
    rate = hazard.monthly_rate_from_annual(np.float64(p))
    assert rate >= 0.0
    assert float(-np.expm1(-12.0 * rate)) == pytest.approx(p, rel=1e-9, abs=1e-15)
    # and twelve monthly probabilities compound to the annual one
    monthly = float(hazard.probability(rate))
    assert 1.0 - (1.0 - monthly) ** 12 == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_monthly_rate_of_certainty_is_finite() -> None:
    assert np.isfinite(hazard.monthly_rate_from_annual(np.float64(1.0)))


def test_transition_shock_victory_relief() -> None:
    v = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(hazard.transition_shock(np.float64(0.02), v, np.float64(2.0)), [0.02, 0.005, 0.0])


def test_war_and_peace_rates_at_the_start() -> None:
    base = np.float64(0.005)
    start = hazard.state_log_hazard(
        np.float64(1.0), np.float64(0.0), np.float64(0.0), np.float64(0.4), np.float64(1.0), np.float64(2.0)
    )
    assert float(hazard.war_rate(base, start)) == pytest.approx(0.005)
    # legitimacy: peace raises the base rate by exp(legitimacy)
    assert float(hazard.peace_base_rate(base, start, np.float64(0.3))) == pytest.approx(0.005 * math.exp(0.3))


# --------------------------------------------------------------------------------------------
# economy

_budget = st.floats(0.0, 10.0)


@given(
    hnp.arrays(np.float64, 8, elements=_budget),
    hnp.arrays(np.float64, 8, elements=_budget),
    hnp.arrays(np.float64, 8, elements=_budget),
    hnp.arrays(np.float64, 8, elements=st.floats(0.0, 1.0)),
)
def test_treasury_step_properties(
    reserves: np.ndarray, revenue: np.ndarray, spending: np.ndarray, share: np.ndarray
) -> None:
    new, deficit, exhausted = economy.treasury_step(reserves, revenue, spending, share)
    assert np.all(new >= 0.0)
    assert np.all(deficit >= 0.0)
    np.testing.assert_allclose(deficit, np.maximum(spending - revenue, 0.0))
    drawn = share * deficit  # the part of the deficit taken from the reserves
    # exhausted only where a deficit draws the reserves down to nothing ...
    assert np.all(~exhausted | ((deficit > 0.0) & (drawn >= reserves)))
    # ... and wherever it does
    assert np.all(exhausted | ~((deficit > 0.0) & (drawn > reserves)))
    # no deficit: never exhausted, reserves never fall
    surplus = revenue >= spending
    assert not np.any(exhausted & surplus)
    assert np.all(new[surplus] >= reserves[surplus])
    # otherwise reserves fall by the drawn share
    covered = ~exhausted & ~surplus
    np.testing.assert_allclose(new[covered], reserves[covered] - drawn[covered], atol=1e-12)


def test_treasury_step_known_values() -> None:
    new, deficit, exhausted = economy.treasury_step(
        np.array([4.0, 0.2, 1.0]), np.array([3.0, 3.0, 5.0]), np.array([3.6, 3.6, 4.0]), np.array([0.5, 0.5, 0.5])
    )
    np.testing.assert_allclose(new, [3.7, 0.0, 1.5])
    np.testing.assert_allclose(deficit, [0.6, 0.6, 0.0])
    np.testing.assert_array_equal(exhausted, [False, True, False])


def test_economic_pain_zero_at_the_start() -> None:
    d0 = np.array([0.6, 0.0])
    pain = economy.economic_pain(d0, d0, np.zeros(2, dtype=bool), np.array([3.6, 4.0]), np.array([2.0, 2.0]))
    np.testing.assert_allclose(pain, 0.0)
    worse = economy.economic_pain(np.array([0.96]), np.array([0.6]), np.array([True]), np.array([3.6]), np.array([2.0]))
    np.testing.assert_allclose(worse, 0.36 / 3.6 + 2.0 * 0.96 / 3.6)


@given(
    hnp.arrays(np.float64, 6, elements=st.floats(0.0, 1.0)),
    hnp.arrays(np.float64, 6, elements=st.floats(0.0, 10.0)),
    hnp.arrays(np.float64, 6, elements=st.floats(-5.0, 5.0)),
)
def test_stability_stays_in_unit_interval(stability: np.ndarray, pain: np.ndarray, z: np.ndarray) -> None:
    s = economy.stability_step(
        stability,
        np.full(6, 0.7),
        np.full(6, 0.05),
        pain,
        np.full(6, 0.02),
        pain / 2.0,
        np.full(6, 0.03),
        np.full(6, 0.5),
        z,
    )
    assert np.all((s >= 0.0) & (s <= 1.0))


def test_log_price_reverts() -> None:
    lp = np.array([0.5])
    for _ in range(200):
        lp = economy.log_price_step(lp, np.array([0.05]), np.array([0.0]), np.array([0.0]))
    assert abs(float(lp[0])) < 0.5 * 0.95**199


@given(
    st.integers(1, 6),
    st.integers(1, 5),
    st.integers(1, 8),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_weighted_attainment_is_the_weighted_sum_of_aim_attainment(aims: int, terms: int, n: int, seed: int) -> None:
    """The engine's affine shortcut equals the explicit (n, aims, terms) computation."""
    rng = np.random.default_rng(seed)
    granted = rng.random((aims, terms)) < 0.5
    lost = rng.random(aims) < 0.5
    weights = rng.random(aims) + 0.01
    progress = np.where(rng.random((n, aims)) < 0.3, rng.integers(0, 2, (n, aims)), rng.random((n, aims)))
    explicit = np.einsum("nak,a->nk", aim_attainment(granted, progress, lost), weights / weights.sum())
    np.testing.assert_allclose(
        bargaining.weighted_attainment(granted, progress, lost, weights), explicit, rtol=1e-12, atol=1e-12
    )
