"""Least-squares Monte Carlo optimal stopping against known answers.

Every random draw comes from ``SEED``, one fixed seed for the whole file (child streams by
``SeedSequence.spawn``), chosen once and never tuned to make a test pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.stats import norm

from ceasefire.solve import lsm
from ceasefire.solve.lsm import (
    BASES,
    OptimalStopping,
    PathSet,
    StoppingResult,
    StoppingRule,
    laguerre,
    polynomial,
)

SEED = 20010101

STRIKE = 40.0
RATE = 0.06
DATES_PER_YEAR = 50

# Longstaff & Schwartz (2001), Table 1: S, sigma, T, finite-difference value (50 exercise dates a year),
# European (Black-Scholes), their LSM value and its s.e. (copied from shared/CALIBRATION.md).
TABLE_1 = [
    (36, 0.2, 1, 4.478, 3.844, 4.472, 0.010),
    (36, 0.2, 2, 4.840, 3.763, 4.821, 0.012),
    (36, 0.4, 1, 7.101, 6.711, 7.091, 0.020),
    (36, 0.4, 2, 8.508, 7.700, 8.488, 0.024),
    (38, 0.2, 1, 3.250, 2.852, 3.244, 0.009),
    (38, 0.2, 2, 3.745, 2.991, 3.735, 0.011),
    (38, 0.4, 1, 6.148, 5.834, 6.139, 0.019),
    (38, 0.4, 2, 7.670, 6.979, 7.669, 0.022),
    (40, 0.2, 1, 2.314, 2.066, 2.313, 0.009),
    (40, 0.2, 2, 2.885, 2.356, 2.879, 0.010),
    (40, 0.4, 1, 5.312, 5.060, 5.308, 0.018),
    (40, 0.4, 2, 6.920, 6.326, 6.921, 0.022),
    (42, 0.2, 1, 1.617, 1.465, 1.617, 0.007),
    (42, 0.2, 2, 2.212, 1.841, 2.206, 0.010),
    (42, 0.4, 1, 4.582, 4.379, 4.588, 0.017),
    (42, 0.4, 2, 6.248, 5.736, 6.243, 0.021),
    (44, 0.2, 1, 1.110, 1.017, 1.118, 0.007),
    (44, 0.2, 2, 1.690, 1.429, 1.675, 0.009),
    (44, 0.4, 1, 3.948, 3.783, 3.957, 0.017),
    (44, 0.4, 2, 5.647, 5.202, 5.622, 0.021),
]


def put_paths(
    seed: np.random.SeedSequence,
    spot: float,
    sigma: float,
    years: float,
    half: int,
    exercise_before_maturity: bool = True,
) -> PathSet:
    """Exact GBM paths (``half`` draws plus their antithetic partners) of an American put on S / K."""
    steps = round(years * DATES_PER_YEAR)
    dt = 1.0 / DATES_PER_YEAR
    z = np.random.default_rng(seed).standard_normal((steps, 1, half))
    z = np.concatenate([z, -z], axis=2)
    log_growth = np.cumsum((RATE - sigma**2 / 2) * dt + sigma * math.sqrt(dt) * z, axis=0)
    price = spot * np.exp(np.concatenate([np.zeros((1, 1, 2 * half)), log_growth]))
    payoff = STRIKE - price
    stop = np.where(payoff > 0, payoff, np.nan)
    if not exercise_before_maturity:
        stop[:-1] = np.nan
    return PathSet(state=(price / STRIKE)[..., None], stop=stop, discount=math.exp(-RATE * dt), antithetic=True)


def black_scholes_put(spot: float, sigma: float, years: float) -> float:
    d1 = (math.log(spot / STRIKE) + (RATE + sigma**2 / 2) * years) / (sigma * math.sqrt(years))
    d2 = d1 - sigma * math.sqrt(years)
    return float(STRIKE * math.exp(-RATE * years) * norm.cdf(-d2) - spot * norm.cdf(-d1))


def cash_flows(paths: PathSet, stopping_time: np.ndarray) -> np.ndarray:
    """Each path's cash flow discounted to date 0 given its stopping date (-1: never), rebuilt by hand:
    ``sum_{s < tau} D_s f_s + D_tau g_tau``, or ``sum_{s < T} D_s f_s + D_T h`` when it never stops."""
    horizon, batches, n = paths.horizon, paths.batches, paths.paths
    discount = np.broadcast_to(np.asarray(paths.discount, dtype=float), (horizon, batches, n))
    flow = np.zeros((horizon, batches, n)) if paths.flow is None else paths.flow
    terminal = np.zeros((batches, n)) if paths.terminal is None else paths.terminal
    factor = np.concatenate([np.ones((1, batches, n)), np.cumprod(discount, axis=0)])  # D_0 .. D_T
    stopped = stopping_time >= 0
    end = np.where(stopped, stopping_time, horizon)
    cash = np.where(np.arange(horizon)[:, None, None] < end, factor[:-1] * flow, 0.0).sum(axis=0)
    payoff = np.take_along_axis(factor * np.nan_to_num(paths.stop), end[None], axis=0)[0]
    return cash + np.where(stopped, payoff, factor[-1] * terminal)


def perfect_foresight(paths: PathSet) -> np.ndarray:
    """Each path's best cash flow in hindsight: the max over the dates where it may stop, and never stopping."""
    shape = (paths.batches, paths.paths)
    best = cash_flows(paths, np.full(shape, -1))
    for tau in range(paths.horizon + 1):
        candidate = cash_flows(paths, np.full(shape, tau))
        best = np.maximum(best, np.where(np.isnan(paths.stop[tau]), -np.inf, candidate))
    return best


# ----------------------------------------------------------------------------- Longstaff & Schwartz Table 1


@pytest.mark.parametrize(("spot", "sigma", "years", "fd", "european", "lsm", "lsm_se"), TABLE_1)
def test_american_put_matches_longstaff_schwartz_table_1(
    spot: float, sigma: float, years: float, fd: float, european: float, lsm: float, lsm_se: float
) -> None:
    train_seed, test_seed = np.random.SeedSequence(SEED).spawn(2)
    train = put_paths(train_seed, spot, sigma, years, half=50_000)
    test = put_paths(test_seed, spot, sigma, years, half=50_000)
    result = OptimalStopping(train, basis="laguerre", degree=3).solve(test)
    value, stderr = float(result.value[0]), float(result.stderr[0])
    message = f"S={spot} sigma={sigma} T={years}: LSM {value:.4f} (s.e. {stderr:.4f}) vs FD {fd} (L&S LSM {lsm})"
    assert abs(value - fd) < 0.04, message
    assert value > black_scholes_put(spot, sigma, years), message
    assert abs(black_scholes_put(spot, sigma, years) - european) < 0.0015


def test_european_limit_is_black_scholes() -> None:
    spot, sigma, years = 36.0, 0.2, 1.0
    train_seed, test_seed = np.random.SeedSequence(SEED).spawn(2)
    train = put_paths(train_seed, spot, sigma, years, half=20_000, exercise_before_maturity=False)
    test = put_paths(test_seed, spot, sigma, years, half=20_000, exercise_before_maturity=False)
    result = OptimalStopping(train, basis="laguerre", degree=3).solve(test)
    exact = black_scholes_put(spot, sigma, years)
    assert abs(result.value[0] - exact) < 3 * result.stderr[0], (result.value[0], result.stderr[0], exact)
    assert np.all(np.isnan(result.rule.coefficients[:-1]))
    assert set(np.unique(result.stopping_time)) <= {-1, round(years * DATES_PER_YEAR)}


# ----------------------------------------------------------------------------- small cases solved by hand


def test_single_date_takes_the_larger_of_payoff_and_terminal() -> None:
    stop = np.array([[[1.0, np.nan, 3.0, -2.0], [0.5, 2.5, np.nan, 4.0]]])
    terminal = np.array([[2.0, 1.0, 1.5, -1.0], [0.5, 3.0, 0.0, 1.0]])
    paths = PathSet(state=np.zeros((1, 2, 4, 1)), stop=stop, terminal=terminal)
    result = OptimalStopping(paths).solve()
    # batch 0: 2 (terminal), 1 (terminal, cannot stop), 3 (stop), -1 (terminal); batch 1: 0.5 (tie: stop), 3, 0, 4
    np.testing.assert_array_equal(result.value, [5.0 / 4, 7.5 / 4])
    np.testing.assert_array_equal(result.stopping_time, [[-1, -1, 0, -1], [0, -1, -1, 0]])
    np.testing.assert_array_equal(result.in_sample_value, result.value)


def test_two_dates_with_a_common_start_compare_payoff_with_the_mean() -> None:
    # Both paths start at the same state, so the continuation at date 0 is the mean of the realized
    # continuation 0.5 * (3, 0) = (1.5, 0): 0.75 < 1, both stop at once.
    state = np.array([[0.0, 0.0], [0.0, 1.0]])[:, None, :, None]
    stop = np.array([[1.0, 1.0], [3.0, 0.0]])[:, None, :]
    result = OptimalStopping(PathSet(state=state, stop=stop, discount=0.5)).solve()
    assert result.value[0] == 1.0
    np.testing.assert_array_equal(result.stopping_time, [[0, 0]])
    # A flow of 1 for continuing makes the continuation (2.5, 1), mean 1.75 > 1: both wait; the second
    # path stops at date 1 with payoff 0 (a tie with the terminal value 0 stops).
    flow = np.ones((1, 1, 2))
    result = OptimalStopping(PathSet(state=state, stop=stop, flow=flow, discount=0.5)).solve()
    assert result.value[0] == 1.75
    np.testing.assert_array_equal(result.stopping_time, [[1, 1]])
    assert result.rule.coefficients[0, 0, 0] == 1.75


def test_two_dates_with_distinct_starts_fit_the_regression_exactly() -> None:
    # Two paths, basis (1, x): the regression interpolates the continuation (1.5, 0).
    # Path 0 waits for 1.5 > 1, path 1 takes 1 > 0: value (1.5 + 1) / 2.
    state = np.array([[0.0, 1.0], [0.0, 1.0]])[:, None, :, None]
    stop = np.array([[1.0, 1.0], [3.0, 0.0]])[:, None, :]
    result = OptimalStopping(PathSet(state=state, stop=stop, discount=0.5), degree=1).solve()
    assert result.value[0] == 1.25
    np.testing.assert_array_equal(result.stopping_time, [[1, 0]])
    np.testing.assert_allclose(result.rule.coefficients[0, 0], [1.5, -1.5], rtol=1e-8)
    np.testing.assert_allclose(result.rule.continuation(0, state[0]), [[1.5, 0.0]], atol=1e-8)


# ----------------------------------------------------------------------------- war of attrition


def attrition_paths(
    quit_rate: float, exponentials: np.ndarray, prize: float, cost: float, dt: float, steps: int
) -> PathSet:
    """A player facing an opponent who quits at ``quit_rate`` (state: the time elapsed).

    Quitting pays 0. Continuing from one date to the next costs ``cost * dt`` and pays ``prize`` if the
    opponent quits during the step, which ends the path (discount 0). Past the last date the player is
    credited with the value of never quitting, ``prize - cost * dt / p`` (``p`` the opponent's quit
    probability per step), which makes the truncated problem stationary; it may still quit at the last date.
    """
    n = exponentials.size
    opponent_quits = np.floor(exponentials / (quit_rate * dt))  # the step during which the opponent quits
    step = np.arange(steps + 1, dtype=float)[:, None, None]
    running = step <= opponent_quits
    quits_now = step[:-1] == opponent_quits
    never_quitting = prize - cost * dt / -math.expm1(-quit_rate * dt)
    return PathSet(
        state=np.broadcast_to(step * dt, (steps + 1, 1, n))[..., None],
        stop=np.where(running, 0.0, np.nan),
        flow=np.where(running[:-1], -cost * dt + prize * quits_now, 0.0),
        discount=np.where(quits_now, 0.0, 1.0),
        terminal=np.full((1, n), never_quitting),
    )


def test_symmetric_war_of_attrition_quits_at_rate_cost_over_prize() -> None:
    # A coarse step and many paths: the regression at each date sees only the quits of one step, and with
    # few of them the in-sample fit is optimistic (8,000 paths at dt = 0.05 put the root ~8% low).
    prize, cost, dt, horizon = 10.0, 1.0, 0.25, 20.0
    steps = round(horizon / dt)
    draws_seed, contest_seed = np.random.SeedSequence(SEED).spawn(2)
    exponentials = np.random.default_rng(draws_seed).standard_exponential((1, 100_000))  # common random numbers

    def solve(rate: float) -> StoppingResult:
        return OptimalStopping(attrition_paths(rate, exponentials, prize, cost, dt, steps)).solve()

    high, low = solve(0.15), solve(0.05)
    assert high.value[0] > 0 and np.all(high.stopping_time == -1)  # never quits; paths end when the opponent does
    assert low.value[0] == 0 and np.all(low.stopping_time == 0)  # quits at once

    def continuation_at_start(rate: float) -> float:
        # The value of waiting at date 0 (all paths share the start, so the fit is the mean realized value).
        return float(solve(rate).rule.coefficients[0, 0, 0])

    rate = brentq(continuation_at_start, 0.05, 0.15, xtol=1e-5)
    # The discrete game's root is -log(1 - c dt / V) / dt = 0.1013; the Monte Carlo spread is about 1%.
    assert abs(rate - cost / prize) < 0.05 * cost / prize, rate
    at_rate = solve(rate)
    assert abs(at_rate.value[0]) <= 3 * at_rate.stderr[0]  # indifferent at the equilibrium rate: payoff 0

    # Both sides quit at the solved rate: the contest ends at the first of two exponential clocks.
    quit_times = np.random.default_rng(contest_seed).standard_exponential((2, 200_000)) / rate
    duration = quit_times.min(axis=0)
    stderr = duration.std(ddof=1) / math.sqrt(duration.size)
    assert abs(duration.mean() - 1 / (2 * rate)) < 3 * stderr, (duration.mean(), 1 / (2 * rate), stderr)
    assert abs(duration.mean() - prize / (2 * cost)) < 0.05 * prize / (2 * cost) + 3 * stderr, duration.mean()


def test_survival_as_a_discount_factor_gives_the_exact_quit_rate() -> None:
    # The same player with the opponent's quit averaged out: the prize arrives with probability p per step
    # and the contest goes on with probability 1 - p (the discount). One path, no noise: waiting is worth
    # -c dt + V p per step, so the solver starts waiting exactly where p = c dt / V.
    prize, cost, dt, steps = 10.0, 1.0, 0.05, 200

    def continuation_at_start(rate: float) -> float:
        p = -math.expm1(-rate * dt)
        paths = PathSet(
            state=np.zeros((steps + 1, 1, 1, 1)),
            stop=np.zeros((steps + 1, 1, 1)),
            flow=np.full((steps, 1, 1), -cost * dt + prize * p),
            discount=1 - p,
        )
        return float(OptimalStopping(paths).solve().rule.coefficients[0, 0, 0])

    rate = brentq(continuation_at_start, 0.05, 0.15, xtol=1e-12)
    assert rate == pytest.approx(-math.log1p(-cost * dt / prize) / dt, rel=1e-9)
    assert rate == pytest.approx(cost / prize, rel=0.005)


# ----------------------------------------------------------------------------- invariants


def test_in_sample_value_is_biased_high_and_value_below_perfect_foresight() -> None:
    train_seed, test_seed = np.random.SeedSequence(SEED).spawn(2)
    train = put_paths(train_seed, 36.0, 0.2, 1.0, half=10_000)
    test = put_paths(test_seed, 36.0, 0.2, 1.0, half=10_000)
    result = OptimalStopping(train, basis="laguerre", degree=3).solve(test)
    assert result.in_sample_value[0] >= result.value[0] - 3 * result.stderr[0]
    assert result.value[0] <= perfect_foresight(test).mean()
    rebuilt = cash_flows(test, result.stopping_time)
    np.testing.assert_allclose(rebuilt.mean(axis=1), result.value, rtol=1e-12)
    in_sample = OptimalStopping(train, basis="laguerre", degree=3).solve()
    np.testing.assert_allclose(in_sample.value, in_sample.in_sample_value, rtol=1e-12, atol=1e-12)


def random_problem(seed: np.random.SeedSequence, horizon: int, batches: int, n: int, d: int) -> PathSet:
    """A problem with random states, payoffs (some not allowed), flows, discounts (some zero) and terminal values."""
    rng = np.random.default_rng(seed)
    stop = rng.normal(size=(horizon + 1, batches, n))
    stop[rng.random(stop.shape) < 0.3] = np.nan
    discount = rng.uniform(0.5, 1.0, size=(horizon, batches, n))
    discount[rng.random(discount.shape) < 0.1] = 0.0
    return PathSet(
        state=rng.normal(size=(horizon + 1, batches, n, d)),
        stop=stop,
        flow=0.1 * rng.normal(size=(horizon, batches, n)),
        discount=discount,
        terminal=rng.normal(size=(batches, n)),
    )


@pytest.mark.parametrize("chunk_entries", [1 << 21, 1000])
def test_batches_are_solved_independently_bit_for_bit(chunk_entries: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lsm, "_CHUNK_ENTRIES", chunk_entries)  # also when the solver splits the batches in groups
    seeds = np.random.SeedSequence(SEED).spawn(2)
    train, test = (random_problem(seed, horizon=12, batches=9, n=300, d=2) for seed in seeds)

    def part(paths: PathSet, batch: slice) -> PathSet:
        discount = np.asarray(paths.discount)[:, batch]
        assert paths.flow is not None and paths.terminal is not None
        return PathSet(
            paths.state[:, batch], paths.stop[:, batch], paths.flow[:, batch], discount, paths.terminal[batch]
        )

    whole = OptimalStopping(train, degree=2).solve(test)
    for batch in [slice(4, 5), slice(0, 1), slice(3, 7), slice(8, 9)]:
        alone = OptimalStopping(part(train, batch), degree=2).solve(part(test, batch))
        np.testing.assert_array_equal(alone.value, whole.value[batch])
        np.testing.assert_array_equal(alone.stderr, whole.stderr[batch])
        np.testing.assert_array_equal(alone.in_sample_value, whole.in_sample_value[batch])
        np.testing.assert_array_equal(alone.stopping_time, whole.stopping_time[batch])
        np.testing.assert_array_equal(alone.rule.coefficients, whole.rule.coefficients[:, batch])


@settings(max_examples=60, deadline=None)
@given(
    horizon=st.integers(0, 5),
    batches=st.integers(1, 3),
    n=st.integers(1, 12),
    d=st.integers(1, 3),
    basis=st.sampled_from(sorted(BASES)),
    degree=st.integers(0, 3),
    draw=st.integers(0, 2**32 - 1),
)
def test_small_random_problems_give_finite_values_and_valid_dates(
    horizon: int, batches: int, n: int, d: int, basis: str, degree: int, draw: int
) -> None:
    train_seed, test_seed = np.random.SeedSequence([SEED, draw]).spawn(2)
    train = random_problem(train_seed, horizon, batches, n, d)
    test = random_problem(test_seed, horizon, batches, n + 1, d)
    result = OptimalStopping(train, basis=basis, degree=degree).solve(test)
    assert np.all(np.isfinite(result.value)) and np.all(np.isfinite(result.in_sample_value))
    assert np.all(np.isfinite(result.stderr))
    assert np.all((result.stopping_time >= -1) & (result.stopping_time <= horizon))
    assert not np.any(np.isinf(result.rule.coefficients))
    cash = cash_flows(test, result.stopping_time)
    np.testing.assert_allclose(cash.mean(axis=1), result.value, rtol=1e-9, atol=1e-12)
    assert np.all(cash <= perfect_foresight(test) + 1e-12)


def test_constant_and_collinear_regressors_do_not_break_the_fit() -> None:
    # Every path at the same state at every date, with a polynomial basis: all columns but the constant
    # are degenerate; the fit is the mean, with no NaN.
    rng = np.random.default_rng(np.random.SeedSequence(SEED))
    horizon, n = 4, 50
    state = np.ones((horizon + 1, 2, n, 3))
    stop = rng.normal(size=(horizon + 1, 2, n))
    result = OptimalStopping(PathSet(state=state, stop=stop, discount=0.9), degree=3).solve()
    assert np.all(np.isfinite(result.rule.coefficients))
    # x and x^2 equal on a 0/1 state: perfectly collinear columns.
    state = rng.integers(0, 2, size=(horizon + 1, 2, n, 1)).astype(float)
    result = OptimalStopping(PathSet(state=state, stop=stop, discount=0.9), degree=2).solve()
    assert np.all(np.isfinite(result.rule.coefficients)) and np.all(np.isfinite(result.value))


def _regress_plainly(x: np.ndarray, y: np.ndarray, active: np.ndarray, ridge: float) -> np.ndarray:
    """``lsm._regress`` as its docstring reads, every batch's system solved: the oracle of its shortcuts."""
    k = x.shape[1]
    count = active.sum(axis=1).astype(np.float64)
    safe = np.maximum(count, 1.0)
    y_mean = np.where(active, y, 0.0).sum(axis=1) / safe
    y_centred = np.where(active, y - y_mean[:, None], 0.0)
    mask = active[:, None, :]
    mean = np.where(mask, x, 0.0).sum(axis=2) / safe[:, None]
    centred = np.where(mask, x - mean[:, :, None], 0.0)
    gram = centred @ np.swapaxes(centred, 1, 2) / safe[:, None, None]
    rhs = (centred @ y_centred[:, :, None])[:, :, 0] / safe[:, None]
    spread = np.sqrt(np.maximum(np.diagonal(gram, axis1=1, axis2=2), 0.0))
    keep = spread > lsm._CONSTANT_COLUMN * np.sqrt(mean * mean + spread * spread)
    keep[:, 0] = False
    keep &= (count >= k)[:, None]
    scale = np.where(keep, spread, 1.0)
    both = keep[:, :, None] & keep[:, None, :]
    standardized = np.where(both, gram / (scale[:, :, None] * scale[:, None, :]), 0.0)
    standardized += np.where(keep, ridge, 1.0)[:, :, None] * np.eye(k)
    solved = np.linalg.solve(standardized, np.where(keep, rhs / scale, 0.0)[:, :, None])[:, :, 0]
    beta = np.where(keep, solved / scale, 0.0)
    beta[:, 0] = y_mean - (beta[:, 1:] * mean[:, 1:]).sum(axis=1)
    beta[count == 0] = np.nan
    return beta


@settings(max_examples=40, deadline=None)
@given(
    batches=st.integers(1, 40),
    n=st.integers(1, 60),
    k=st.integers(1, 8),
    share=st.floats(0.0, 1.0),
    ridge=st.sampled_from([lsm._RIDGE, 1e-3]),
    draw=st.integers(0, 2**32 - 1),
)
def test_regression_is_the_plain_formula_bit_for_bit(
    batches: int, n: int, k: int, share: float, ridge: float, draw: int
) -> None:
    # columns constant on some batches, exact zeros (whose products may be -0.0), batches with no or
    # too few active paths: every branch of the fit
    rng = np.random.default_rng(np.random.SeedSequence([SEED, draw]))
    x = rng.normal(size=(batches, k, n))
    x[rng.random((batches, k)) < 0.2] = 0.5
    x[rng.random(x.shape) < 0.2] = 0.0
    x[:, 0] = 1.0  # the constant column, as every basis has it
    y = rng.normal(size=(batches, n))
    active = rng.random((batches, n)) < share
    got = lsm._regress(x, y, active, ridge)
    assert np.array_equal(got, _regress_plainly(x, y, active, ridge), equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(
    batches=st.integers(1, 30),
    n=st.integers(1, 40),
    d=st.integers(1, 3),
    degree=st.integers(0, 3),
    share=st.floats(0.0, 1.0),
    draw=st.integers(0, 2**32 - 1),
)
def test_a_date_fitted_on_few_paths_is_the_fit_on_all_regressors(
    batches: int, n: int, d: int, degree: int, share: float, draw: int
) -> None:
    # Batches with fewer active paths than columns skip their regressors: the same coefficients and
    # continuation values as regressing every batch and combining every column.
    rng = np.random.default_rng(np.random.SeedSequence([SEED, draw]))
    basis = polynomial(degree)
    state = rng.normal(size=(batches, n, d))
    state[rng.random(state.shape) < 0.2] = 0.0
    realized = rng.normal(size=(batches, n))
    active = rng.random((batches, n)) < share
    k = len(basis.columns(state[:1, :1]))
    regressors = lsm._regressors(basis, state)
    beta = lsm._regress(regressors, realized, active, 1e-3)
    continuation = lsm._combine(regressors, beta)
    got_beta, got_continuation = lsm._fit_date(basis, state, realized, active, 1e-3, k)
    assert np.array_equal(got_beta, beta, equal_nan=True)
    assert np.array_equal(got_continuation, continuation, equal_nan=True)


def test_a_date_with_overflowing_regressors_is_fitted_on_all_of_them() -> None:
    # x^2 overflows on an active path: the full fit's mean of that column is infinite and its intercept
    # NaN; fitting the mean alone would hide that, so the fit goes through the regressors.
    # Two active paths, three columns (1, x, x^2): only the mean is fitted.
    state = np.array([[[1e200], [1.0]], [[1.0], [2.0]]])
    realized = np.array([[1.0, 2.0], [2.0, 3.0]])
    active = np.ones((2, 2), dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        beta, continuation = lsm._fit_date(polynomial(2), state, realized, active, 1e-3, 3)
    assert np.isnan(beta[0, 0])
    assert np.all(np.isnan(continuation[0]))
    np.testing.assert_array_equal(beta[1], [2.5, 0.0, 0.0])
    np.testing.assert_array_equal(continuation[1], [2.5, 2.5])


# ----------------------------------------------------------------------------- bases and the rule


def test_bases_have_the_documented_columns() -> None:
    x = np.array([[0.5, 2.0]])
    np.testing.assert_allclose(polynomial(2)(x), [[1, 0.5, 2.0, 0.25, 1.0, 4.0]])
    np.testing.assert_allclose(polynomial(0)(x), [[1.0]])
    w = math.exp(-0.25)
    np.testing.assert_allclose(laguerre(3)(x[:, :1]), [[1, w, w * 0.5, w * (1 - 1 + 0.125)]])
    assert laguerre(3)(np.zeros((4, 5, 2))).shape == (4, 5, 7)
    assert polynomial(3)(np.zeros((4, 5, 3))).shape == (4, 5, 20)
    with pytest.raises(ValueError, match="degree"):
        polynomial(-1)


def test_rule_stops_where_payoff_beats_continuation() -> None:
    coefficients = np.array([[[1.0, 2.0]], [[np.nan, np.nan]], [[0.0, 0.0]]])
    rule = StoppingRule(coefficients=coefficients, basis=polynomial(1))
    state = np.array([[[0.0], [1.0]]])
    np.testing.assert_allclose(rule.continuation(0, state), [[1.0, 3.0]])
    np.testing.assert_array_equal(rule.stops(0, state, np.array([[1.0, 2.0]])), [[True, False]])
    np.testing.assert_array_equal(rule.stops(0, state, np.array([[np.nan, 5.0]])), [[False, True]])
    np.testing.assert_array_equal(rule.stops(1, state, np.array([[9.0, 9.0]])), [[False, False]])
    np.testing.assert_array_equal(rule.stops(2, state, np.array([[0.0, -1.0]])), [[True, False]])
    np.testing.assert_array_equal(
        rule.stops(2, state, np.array([[0.0, -1.0]]), np.array([[1.0, -2.0]])), [[False, True]]
    )
    with pytest.raises(ValueError, match="date"):
        rule.continuation(3, state)


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("state", {"state": np.zeros((3, 2, 4))}),
        ("stop", {"stop": np.zeros((3, 2, 5))}),
        ("flow", {"flow": np.zeros((3, 2, 4))}),
        ("discount", {"discount": np.ones((2, 3, 4))}),
        ("discount", {"discount": -0.5}),
        ("terminal", {"terminal": np.zeros((2,))}),
        ("antithetic", {"state": np.zeros((3, 2, 5, 1)), "stop": np.zeros((3, 2, 5)), "antithetic": True}),
        ("state", {"state": np.full((3, 2, 4, 1), np.inf)}),
        ("stop", {"stop": np.full((3, 2, 4), -np.inf)}),
    ],
)
def test_bad_inputs_name_the_field(field: str, changes: dict[str, object]) -> None:
    fields: dict[str, object] = {"state": np.zeros((3, 2, 4, 1)), "stop": np.zeros((3, 2, 4))} | changes
    with pytest.raises(ValueError, match=field):
        PathSet(**fields)  # type: ignore[arg-type]


def test_mismatched_evaluation_paths_and_unknown_basis_are_refused() -> None:
    paths = PathSet(state=np.zeros((3, 2, 4, 1)), stop=np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match="evaluate"):
        OptimalStopping(paths).solve(PathSet(state=np.zeros((4, 2, 4, 1)), stop=np.zeros((4, 2, 4))))
    with pytest.raises(ValueError, match="basis"):
        OptimalStopping(paths, basis="chebyshev")
    with pytest.raises(ValueError, match="column 0"):
        OptimalStopping(paths, basis=lambda x: x).solve()


@pytest.mark.parametrize("basis", ["polynomial", "laguerre", "custom"])
def test_continuation_of_rows_from_several_batches_is_the_batch_continuation(basis: str) -> None:
    """Paths picked from any batches, in any order, get the very bits of their batch's continuation."""
    rng = np.random.default_rng(5)
    batches, paths, dims = 3, 40, 2
    state = rng.uniform(0.2, 1.5, (4, batches, paths, dims))
    stop = np.where(rng.random((4, batches, paths)) < 0.7, rng.normal(1.0, 0.3, (4, batches, paths)), np.nan)
    problem = PathSet(state=state, stop=stop, discount=0.97)
    chosen: Any = basis
    if basis == "custom":
        chosen = lambda x: np.stack([np.ones(x.shape[:-1]), x[..., 0], np.sin(x[..., 1])], axis=-1)  # noqa: E731
    rule = OptimalStopping(problem, basis=chosen, degree=2).fit()
    batch = rng.integers(0, batches, 50)
    path = rng.integers(0, paths, 50)
    # and long runs of paths of one batch (as the engine's paths come, sample by sample), which are
    # weighted run by run, in blocks of rows: 9,000 paths of batch 2 (more than a block), then 1,500 of batch 0
    long_batch = np.repeat([2, 0], [9000, 1500])
    long_path = rng.integers(0, paths, long_batch.size)
    assert lsm.batch_runs(long_batch) == [(0, 9000, 2), (9000, 10500, 0)] and lsm.batch_runs(batch) is None
    assert 9000 > lsm._BLOCK
    mixed_batch = rng.integers(0, batches, 9000)  # many short runs, more than a block: weighted path by path
    mixed_path = rng.integers(0, paths, mixed_batch.size)
    assert lsm.batch_runs(mixed_batch) is None
    for t in range(3):
        whole = rule.continuation(t, state[t])
        for b, p in ((batch, path), (long_batch, long_path), (mixed_batch, mixed_path)):
            rows = rule.continuation_rows(t, state[t][b, p], b)
            assert rows.tobytes() == whole[b, p].tobytes()
