"""The JAX backend's value of peace: a polynomial of fixed degree in the shock's amplitude ``A`` where
``A <= 1``, the term-by-term series beyond; both against the month-by-month recursion and NumPy's series.

The error is measured against the size of the summed terms, ``(1 + (lambda0 + J) Pi) / (1 - delta e^{-lambda0})``
(the value itself can cross zero), and must be below 1e-10 of it for every input, amplitudes up to 25.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from ceasefire.model import leader  # noqa: E402
from ceasefire.model.jax import peace as K  # noqa: E402

TOLERANCE = 1e-10
"""Largest error allowed, relative to the size of the summed terms."""

_rates = st.floats(1e-3, 0.05)
_shock_months = st.floats(1.0, 36.0)
_punishments = st.floats(0.0, 300.0)
_deltas = st.floats(0.9, 0.995)
_amplitudes = st.floats(0.0, 25.0)


def _shock(amplitude: float, shock_months: float) -> float:
    """The shock ``J`` whose amplitude is ``A = J / (1 - q)``."""
    return amplitude * (1.0 - math.exp(-1.0 / shock_months))


def _scale(base_rate: float, shock: float, punishment: float, delta: float) -> float:
    return (1.0 + (base_rate + shock) * punishment) / (1.0 - delta * math.exp(-base_rate))


def _recursion(base_rate: float, shock: float, shock_months: float, punishment: float, delta: float) -> float:
    """The value summed month by month until the neglected tail is below 1e-14 of the first term."""
    r = delta * math.exp(-base_rate)
    months = math.ceil(math.log(1e-14) / math.log(r)) + 10
    return leader.peace_value_by_recursion(base_rate, shock, shock_months, punishment, delta, months=months)


def _peace_value(
    base_rate: Any, shock: Any, shock_months: Any, punishment: Any, delta: Any, axis_name: str | None = None
) -> Any:
    """``leader.peace_value`` by the JAX kernel: its series (:func:`K.peace_values`) with the flow
    ``1 - lambda0 Pi`` and the shock cost ``J Pi`` of a punishment ``Pi``."""
    arguments = (base_rate, shock, shock_months, delta, 1.0 - base_rate * punishment, shock * punishment)
    return K.peace_values([arguments], axis_name=axis_name)[0]


@cache
def _jitted() -> Any:
    return jax.jit(_peace_value)


def _jax_value(*args: Any) -> np.ndarray:
    with jax.enable_x64(True):
        return np.asarray(_jitted()(*(jnp.asarray(a, dtype=jnp.float64) for a in args)))


@settings(max_examples=80, deadline=None)
@given(_rates, _amplitudes, _shock_months, _punishments, _deltas)
def test_peace_value_matches_the_recursion(
    base_rate: float, amplitude: float, shock_months: float, punishment: float, delta: float
) -> None:
    shock = _shock(amplitude, shock_months)
    got = float(_jax_value(base_rate, shock, shock_months, punishment, delta))
    expected = _recursion(base_rate, shock, shock_months, punishment, delta)
    assert abs(got - expected) <= TOLERANCE * _scale(base_rate, shock, punishment, delta)


@settings(max_examples=60, deadline=None)
@given(_rates, _shock_months, _punishments, _deltas, st.lists(_amplitudes, min_size=1, max_size=12))
def test_peace_value_matches_numpy_on_a_batch(
    base_rate: float, shock_months: float, punishment: float, delta: float, amplitudes: list[float]
) -> None:
    """A batch with amplitudes on both sides of the switch: every element as NumPy's series gives it."""
    shocks = np.array([_shock(a, shock_months) for a in amplitudes])
    args = (
        np.full_like(shocks, base_rate),
        shocks,
        np.full_like(shocks, shock_months),
        np.full_like(shocks, punishment),
        np.full_like(shocks, delta),
    )
    got = _jax_value(*args)
    expected = leader.peace_value(*args)
    scale = np.array([_scale(base_rate, s, punishment, delta) for s in shocks])
    assert np.all(np.abs(got - expected) <= TOLERANCE * scale)


@pytest.mark.parametrize("amplitude", [0.0, 0.3, 0.999999, 1.0, 1.000001, 3.0, 10.0, 20.0])
def test_peace_value_at_and_around_the_switch(amplitude: float) -> None:
    """The polynomial up to ``A = 1``, the series beyond: both right at the switch and far beyond it."""
    base_rate, shock_months, punishment, delta = 0.004, 8.0, 120.0, 0.99
    shock = _shock(amplitude, shock_months)
    got = float(_jax_value(base_rate, shock, shock_months, punishment, delta))
    expected = _recursion(base_rate, shock, shock_months, punishment, delta)
    assert abs(got - expected) <= TOLERANCE * _scale(base_rate, shock, punishment, delta)


def test_the_degree_bounds_the_truncation_below_rounding() -> None:
    """The neglected tail of the polynomial at the largest amplitude it is used for, against its first
    term (``A^{N+1} / (N+1)!``, times the later terms' geometric ratio): below 2e-16."""
    bound = K.peace_truncation_bound(K.PEACE_HORNER_AMPLITUDE)
    assert bound < 2e-16
    tail = sum(K.PEACE_HORNER_AMPLITUDE**n / math.factorial(n) for n in range(K.PEACE_DEGREE + 1, 60))
    assert tail <= bound


def test_per_path_arguments_broadcast_and_give_the_same_values() -> None:
    """Rate, time constant and discount per path ``(paths, 1)`` against shocks per terms ``(paths, m)``:
    the values of the full arrays (to rounding: XLA compiles the two shapes differently)."""
    rng = np.random.default_rng(3)
    paths, terms = 7, 5
    rate, months, delta = rng.uniform(1e-3, 0.03, (paths, 1)), rng.uniform(2, 20, (paths, 1)), np.full((paths, 1), 0.99)
    shock, pun = rng.uniform(0, 0.2, (paths, terms)), rng.uniform(0, 100, (paths, terms))
    narrow = _jax_value(rate, shock, months, pun, delta)
    wide = _jax_value(*(np.broadcast_to(a, (paths, terms)) for a in (rate, shock, months, pun, delta)))
    np.testing.assert_allclose(narrow, wide, rtol=1e-12, atol=1e-12)


def test_an_element_does_not_depend_on_its_batch_under_vmap() -> None:
    """Under ``vmap`` with the samples' axis named, a sample whose amplitudes are all small gets the same
    bits whether or not another sample in the call takes the slow branch."""
    rng = np.random.default_rng(4)
    rate, months = rng.uniform(1e-3, 0.03, (2, 6)), rng.uniform(2, 20, (2, 6))
    pun, delta = rng.uniform(0, 100, (2, 6)), np.full((2, 6), 0.99)
    shock = rng.uniform(0, 0.05, (2, 6))
    big = shock.copy()
    big[1, 3] = _shock(15.0, float(months[1, 3]))

    def values(shocks: np.ndarray) -> np.ndarray:
        def one(*a: Any) -> Any:
            return _peace_value(a[0], a[1], a[2], a[3], a[4], axis_name="s")

        fn = jax.vmap(one, axis_name="s")
        with jax.enable_x64(True):
            return np.asarray(jax.jit(fn)(*(jnp.asarray(a) for a in (rate, shocks, months, pun, delta))))

    calm, mixed = values(shock), values(big)
    assert np.array_equal(calm[0], mixed[0])
    assert mixed[1, 3] == pytest.approx(
        _recursion(rate[1, 3], big[1, 3], months[1, 3], pun[1, 3], delta[1, 3]),
        abs=TOLERANCE * _scale(rate[1, 3], big[1, 3], pun[1, 3], delta[1, 3]),
    )


def test_several_argument_sets_in_one_go_are_each_as_alone() -> None:
    """``peace_values`` sums the large amplitudes of several argument sets (of different shapes) in one
    loop: each set's values are those of :func:`peace_value` on it alone."""
    rng = np.random.default_rng(5)
    paths = 6
    rate, months, delta = rng.uniform(1e-3, 0.03, (paths, 1)), rng.uniform(2, 20, (paths, 1)), np.full((paths, 1), 0.99)
    sets = []
    for terms in (4, 1, 9):
        shock, pun = rng.uniform(0, 0.05, (paths, terms)), rng.uniform(0, 100, (paths, terms))
        shock[0, 0] = _shock(12.0, float(months[0, 0]))  # one large amplitude in every set
        sets.append((rate, shock, months, pun, delta))

    def series(args: tuple[Any, ...]) -> tuple[Any, ...]:
        rate, shock, months, pun, delta = (jnp.asarray(a) for a in args)
        return rate, shock, months, delta, 1.0 - rate * pun, shock * pun

    with jax.enable_x64(True):
        together = jax.jit(K.peace_values)([series(s) for s in sets])
        for args, got in zip(sets, together, strict=True):
            alone = np.asarray(_jitted()(*(jnp.asarray(a) for a in args)))
            np.testing.assert_allclose(np.asarray(got), alone, rtol=1e-12, atol=1e-12)
            r, j, m, p, d = (float(np.broadcast_to(a, args[1].shape)[0, 0]) for a in args)
            assert float(got[0, 0]) == pytest.approx(_recursion(r, j, m, p, d), abs=TOLERANCE * _scale(r, j, p, d))


@settings(max_examples=40, deadline=None)
@given(
    _rates,
    _shock_months,
    _deltas,
    st.lists(st.tuples(_amplitudes, st.floats(-3.0, 3.0), st.floats(-300.0, 300.0)), min_size=1, max_size=12),
)
def test_the_general_series_matches_numpy(
    base_rate: float, shock_months: float, delta: float, terms: list[tuple[float, float, float]]
) -> None:
    """Model 2's series with any flow and shock cost (``leader.peace_series``), on both sides of the switch."""
    shocks = np.array([_shock(a, shock_months) for a, _, _ in terms])
    flow = np.array([f for _, f, _ in terms])
    cost = np.array([c for _, _, c in terms]) * shocks
    args = (np.full_like(shocks, base_rate), shocks, np.full_like(shocks, shock_months), np.full_like(shocks, delta))
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(K.peace_values)([tuple(jnp.asarray(a) for a in (*args, flow, cost))])[0])
    expected = leader.peace_series(*args, flow, cost)
    scale = (1.0 + np.abs(flow) + np.abs(cost)) / (1.0 - delta * math.exp(-base_rate))
    assert np.all(np.abs(got - expected) <= TOLERANCE * scale)
