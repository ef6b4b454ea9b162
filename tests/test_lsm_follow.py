"""The fast paths of ``ceasefire.solve.lsm`` give the same numbers as the plain algorithm, bit for bit.

Following a fitted rule on the evaluation paths carries only the paths still alive and computes the
continuation value only where stopping is possible, in blocks; the Laguerre columns skip the exact
steps of their recurrence; the input checks run block by block. Each is compared here with the plain
version (every path at every date through the public :meth:`StoppingRule.stops`; the textbook
recurrence; a whole-array check). Every random draw comes from ``SEED``, chosen once.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.solve import lsm
from ceasefire.solve.lsm import Array, LaguerreBasis, OptimalStopping, PathSet, StoppingRule

SEED = 20260417
BENCH = Path(__file__).resolve().parents[1] / "bench"


def follow_reference(rule: StoppingRule, paths: PathSet) -> tuple[Array, np.ndarray]:
    """The rule followed the plain way: every path at every date through :meth:`StoppingRule.stops`.

    Returns each path's cash flow discounted to date 0 and its stopping date (-1: never).
    """
    horizon, shape = paths.horizon, (paths.batches, paths.paths)
    discount = np.broadcast_to(np.asarray(paths.discount, dtype=np.float64), (horizon, *shape))
    terminal = np.zeros(shape) if paths.terminal is None else paths.terminal
    factor, cash = np.ones(shape), np.zeros(shape)
    stopping_time = np.full(shape, -1, dtype=np.int64)
    alive = np.ones(shape, dtype=np.bool_)
    for t in range(horizon + 1):
        if t < horizon and np.all(np.isnan(rule.coefficients[t])):
            stopped = np.zeros(shape, dtype=np.bool_)
        else:
            stopped = alive & rule.stops(t, paths.state[t], paths.stop[t], terminal if t == horizon else None)
        cash += factor * np.where(stopped, paths.stop[t], 0.0)
        stopping_time[stopped] = t
        alive &= ~stopped
        if t == horizon:
            cash += np.where(alive, factor * terminal, 0.0)
            break
        if paths.flow is not None:
            cash += np.where(alive, factor * paths.flow[t], 0.0)
        factor = factor * discount[t]
        alive &= factor != 0
    return cash, stopping_time


def custom_basis(state: Array) -> Array:
    """A basis given as a callable (not one of the named ones): 1, sin x, x^2 per variable."""
    return np.concatenate([np.ones((*state.shape[:-1], 1)), np.sin(state), state**2], axis=-1)


def random_paths(seed: np.random.SeedSequence, horizon: int, batches: int, n: int, d: int, kind: str) -> PathSet:
    """A random problem: NaN payoffs here and there (some dates all NaN), flows, and a discount of ``kind``."""
    rng = np.random.default_rng(seed)
    shape = (horizon, batches, n)
    stop = rng.normal(size=(horizon + 1, batches, n))
    stop[rng.random(stop.shape) < 0.35] = np.nan
    stop[rng.random(horizon + 1) < 0.15] = np.nan
    discounts: dict[str, Array | float] = {
        "scalar": 0.95,
        "zero": 0.0,
        "full": rng.uniform(0.6, 1.0, size=shape) * (rng.random(shape) < 0.9),
        "per date": rng.uniform(0.6, 1.0, size=(horizon, 1, 1)),
        "per batch": rng.uniform(0.6, 1.0, size=(horizon, batches, 1)),
    }
    discount = discounts[kind]
    return PathSet(
        state=rng.normal(size=(horizon + 1, batches, n, d)),
        stop=stop,
        flow=0.1 * rng.normal(size=shape) if rng.random() < 0.5 else None,
        discount=discount,
        terminal=rng.normal(size=(batches, n)) if rng.random() < 0.5 else None,
    )


def assert_same_as_reference(result: lsm.StoppingResult, paths: PathSet) -> None:
    cash, stopping_time = follow_reference(result.rule, paths)
    np.testing.assert_array_equal(result.stopping_time, stopping_time)
    np.testing.assert_array_equal(result.value, cash.mean(axis=1))
    np.testing.assert_array_equal(result.stderr, lsm._standard_error(cash, paths.antithetic))


@settings(max_examples=80, deadline=None)
@given(
    horizon=st.integers(1, 6),
    batches=st.integers(1, 3),
    n=st.integers(1, 30),
    d=st.integers(1, 3),
    basis=st.sampled_from(["polynomial", "laguerre", "custom"]),
    degree=st.integers(0, 3),
    kind=st.sampled_from(["scalar", "zero", "full", "per date", "per batch"]),
    block=st.sampled_from([1, 3, 1 << 13]),
    draw=st.integers(0, 2**32 - 1),
)
def test_following_the_rule_matches_the_plain_algorithm_bit_for_bit(
    horizon: int, batches: int, n: int, d: int, basis: str, degree: int, kind: str, block: int, draw: int
) -> None:
    train_seed, test_seed = np.random.SeedSequence([SEED, draw]).spawn(2)
    train = random_paths(train_seed, horizon, batches, n, d, kind)
    test = random_paths(test_seed, horizon, batches, n + 3, d, kind)
    solver = OptimalStopping(train, basis=custom_basis if basis == "custom" else basis, degree=degree, ridge=1e-3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lsm, "_BLOCK", block)  # continuation values computed in blocks of any size
        result = solver.solve(test)
        assert_same_as_reference(result, test)
        assert_same_as_reference(solver.solve(), train)
    np.testing.assert_array_equal(solver.fit().coefficients, result.rule.coefficients)


@settings(max_examples=60, deadline=None)
@given(
    horizon=st.integers(1, 5),
    batches=st.integers(1, 3),
    n=st.integers(1, 40),
    kind=st.sampled_from(["scalar", "full", "per batch"]),
    block=st.sampled_from([2, 1 << 13]),
    draw=st.integers(0, 2**32 - 1),
)
def test_ties_and_dates_without_a_rule_are_followed_as_the_plain_algorithm(
    horizon: int, batches: int, n: int, kind: str, block: int, draw: int
) -> None:
    # Small integers everywhere: the payoff often equals the continuation value exactly (a tie stops).
    rng = np.random.default_rng(np.random.SeedSequence([SEED, draw]))
    paths = random_paths(np.random.SeedSequence([SEED, draw, 1]), horizon, batches, n, 2, kind)
    stop = np.where(np.isnan(paths.stop), np.nan, rng.integers(-2, 4, size=paths.stop.shape))
    paths = PathSet(paths.state.round(), stop, paths.flow, paths.discount, paths.terminal)
    coefficients = rng.integers(-2, 3, size=(horizon + 1, batches, 6)).astype(np.float64)
    coefficients[rng.random(horizon + 1) < 0.2] = np.nan  # no training path could stop then
    coefficients[rng.random((horizon + 1, batches)) < 0.2] = np.nan  # ... in one problem only
    coefficients[horizon] = 0.0
    rule = StoppingRule(coefficients=coefficients, basis=lsm.polynomial(2))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lsm, "_BLOCK", block)
        cash, stopping_time = lsm._follow(rule, paths, slice(0, batches))
    want_cash, want_time = follow_reference(rule, paths)
    np.testing.assert_array_equal(stopping_time, want_time)
    np.testing.assert_array_equal(cash, want_cash)


def american_put(seed: np.random.SeedSequence, half: int) -> PathSet:
    """Longstaff & Schwartz's put (S = 36, K = 40, r = 0.06, sigma = 0.2, 50 dates), antithetic, state S / K."""
    dt, rate, sigma = 1 / 50, 0.06, 0.2
    z = np.random.default_rng(seed).standard_normal((50, 1, half))
    z = np.concatenate([z, -z], axis=2)
    log_growth = np.cumsum((rate - sigma**2 / 2) * dt + sigma * math.sqrt(dt) * z, axis=0)
    price = 36.0 * np.exp(np.concatenate([np.zeros((1, 1, 2 * half)), log_growth]))
    stop = np.where(price < 40.0, 40.0 - price, np.nan)
    return PathSet(state=(price / 40.0)[..., None], stop=stop, discount=math.exp(-rate * dt), antithetic=True)


@pytest.mark.parametrize(("basis", "degree"), [("laguerre", 3), ("polynomial", 2)])
def test_american_put_follows_the_rule_as_the_plain_algorithm(basis: str, degree: int) -> None:
    train_seed, test_seed = np.random.SeedSequence(SEED).spawn(2)
    test = american_put(test_seed, 10_000)
    result = OptimalStopping(american_put(train_seed, 2_000), basis=basis, degree=degree).solve(test)
    assert_same_as_reference(result, test)
    assert abs(result.value[0] - 4.478) < 4 * result.stderr[0] + 0.02  # Longstaff & Schwartz, Table 1


def laguerre_reference(state: Array, degree: int) -> list[Array]:
    """The textbook recurrence from ``L_{-1} = 0``, ``L_0 = 1``: ``(j+1) L_{j+1} = (2j+1-x) L_j - j L_{j-1}``."""
    columns = [np.ones(state.shape[:-1])]
    for i in range(state.shape[-1]):
        x = state[..., i]
        weight = np.exp(-0.5 * x)
        previous, current = np.zeros_like(x), np.ones_like(x)
        for j in range(degree):
            columns.append(weight * current)
            previous, current = current, ((2 * j + 1 - x) * current - j * previous) / (j + 1)
    return columns


@pytest.mark.parametrize("degree", range(6))
def test_laguerre_columns_are_the_textbook_recurrence_bit_for_bit(degree: int) -> None:
    rng = np.random.default_rng(np.random.SeedSequence([SEED, degree]))
    state = rng.normal(scale=3.0, size=(2, 500, 3))
    state[0, :5, 0] = [0.0, -0.0, 1.0, 2.0, 1e-300]
    got = LaguerreBasis(degree).columns(state)
    want = laguerre_reference(state, degree)
    assert len(got) == len(want) == 1 + 3 * degree
    for column, expected in zip(got, want, strict=True):
        np.testing.assert_array_equal(column, expected)


@pytest.mark.parametrize(
    ("field", "where", "bad"),
    [("state", -1, np.nan), ("state", 70_000, np.inf), ("stop", -1, -np.inf), ("stop", 65_536, np.inf)],
)
def test_input_checks_see_every_block(field: str, where: int, bad: float) -> None:
    n = 3 * lsm._CHECK_BLOCK // 4  # two dates of n paths span more than two blocks
    fields = {"state": np.zeros((2, 1, n, 2)), "stop": np.full((2, 1, n), np.nan)}
    PathSet(fields["state"], fields["stop"])  # NaN payoffs are allowed
    fields[field].reshape(-1)[where] = bad
    with pytest.raises(ValueError, match=field):
        PathSet(fields["state"], fields["stop"])


def test_benchmark_put_paths_are_exact_gbm_with_antithetic_mirrors() -> None:
    sys.path.insert(0, str(BENCH))
    import lsm_vs_quantlib as lq

    half = 501
    paths = lq.put_paths(np.random.default_rng(np.random.SeedSequence(SEED)), 2 * half)
    z = np.random.default_rng(np.random.SeedSequence(SEED)).standard_normal((lq.STEPS, half))
    dt = lq.YEARS / lq.STEPS
    drift = (lq.RATE - lq.SIGMA**2 / 2) * dt
    log_growth = np.cumsum(drift + lq.SIGMA * math.sqrt(dt) * z, axis=0)
    dates = np.arange(1, lq.STEPS + 1)[:, None]
    s = lq.SPOT * np.exp(
        np.concatenate([np.zeros((1, 2 * half)), np.hstack([log_growth, 2 * drift * dates - log_growth])])
    )
    np.testing.assert_allclose(paths.state[:, 0, :, 0], s / lq.STRIKE, rtol=1e-12)
    payoff = lq.STRIKE - s
    stop = paths.stop[:, 0]
    np.testing.assert_array_equal(np.isnan(stop), ~(lq.STRIKE - lq.STRIKE * paths.state[:, 0, :, 0] > 0))
    np.testing.assert_allclose(stop[~np.isnan(stop)], payoff[~np.isnan(stop)], rtol=1e-9, atol=1e-12)
    assert paths.antithetic and paths.discount == pytest.approx(math.exp(-lq.RATE * dt))
