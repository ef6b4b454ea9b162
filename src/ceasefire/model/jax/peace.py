"""The value of peace in JAX: the closed-form series of :func:`ceasefire.model.leader.peace_series`
as a polynomial of fixed degree that XLA fuses with the rest of the month.

NumPy sums the series in place, element by element until converged; here, where the amplitude
``A <= PEACE_HORNER_AMPLITUDE`` (every value of the flagship: its ``A`` is at most about 0.6), the
series is a polynomial of fixed degree :data:`PEACE_DEGREE` in ``A``, evaluated by Horner's rule; a
larger ``A`` is summed term by term as in NumPy (:func:`peace_value_by_terms`), in a branch taken only
when some element needs it. The tests check both against the month-by-month recursion.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array
PeaceArguments = tuple[Array, Array, Array, Array, Array, Array]
"""``(base_rate, shock, shock_months, delta, flow_part, shock_cost)``, as NumPy's ``leader.peace_series``."""


PEACE_SERIES_TERMS = 400
"""Most terms of the series summed term by term (:func:`peace_value_by_terms`; as in ``leader.peace_value``)."""

PEACE_DEGREE = 17
"""Degree of the polynomial in ``A`` by which :func:`peace_value` sums its series (``A <= PEACE_HORNER_AMPLITUDE``)."""

PEACE_HORNER_AMPLITUDE = 1.0
"""Largest amplitude ``A = shock / (1 - q)`` summed by the fixed-degree polynomial; a larger one by the loop."""

_INVERSE_FACTORIALS = tuple(1.0 / math.factorial(n) for n in range(PEACE_DEGREE + 1))


def peace_truncation_bound(amplitude: float, degree: int = PEACE_DEGREE) -> float:
    """Bound on ``sum_{n > degree} A^n / n!`` for ``A < degree + 2``: the first neglected term times
    the geometric series of the later terms' ratios (each below ``A / (degree + 2)``)."""
    first = amplitude ** (degree + 1) / math.factorial(degree + 1)
    return first / (1.0 - amplitude / (degree + 2))


def peace_coefficients(r: Array, q: Array, degree: int = PEACE_DEGREE) -> tuple[list[Array], list[Array]]:
    """The series' coefficients ``G_n / n!`` and ``G_{n+1} / n!`` for ``n = 0..degree``, ``G_n = 1 / (1 - r q^n)``.

    They depend on the path (its rate, discount and shock's time constant), not on the terms:
    computed once per path and shared by every value of peace of that path's leader.
    """
    rq = r * jnp.ones_like(q)
    g = [1.0 / (1.0 - rq)]
    for _ in range(degree + 1):
        rq = rq * q
        g.append(1.0 / (1.0 - rq))
    c0 = [g[n] * _INVERSE_FACTORIALS[n] for n in range(degree + 1)]
    c1 = [g[n + 1] * _INVERSE_FACTORIALS[n] for n in range(degree + 1)]
    return c0, c1


def horner(coefficients: list[Array], x: Array) -> Array:
    """``sum_n c_n x^n`` by Horner's rule (the coefficients broadcast against ``x``)."""
    out = coefficients[-1] * jnp.ones_like(x)
    for c in reversed(coefficients[:-1]):
        out = out * x + c
    return out


def peace_values(arguments: list[PeaceArguments], axis_name: str | None = None, tol: float = 1e-12) -> list[Array]:
    """:func:`ceasefire.model.leader.peace_series` of several argument sets in one go,
    ``V = exp(-A) sum_n A^n / n! [a G_n - c G_{n+1}]`` with ``A = J / (1 - q)`` (``a``: ``flow_part``, ``c``:
    ``shock_cost``).

    Where ``A <= PEACE_HORNER_AMPLITUDE`` (every value of the flagship) the series is a polynomial of
    fixed degree :data:`PEACE_DEGREE` in ``A``, evaluated by Horner's rule with coefficients per path
    (:func:`peace_coefficients`): a fixed sequence of elementwise operations that XLA fuses with the rest
    of the month. As ``0 < G_n <= G_0``, its truncation error is at most
    ``G_0 (|a| + |c|) exp(-A) peace_truncation_bound(A)``, below ``1.7e-16`` times the size of the summed
    terms. A larger ``A`` is summed term by term as in NumPy (:func:`peace_value_by_terms`), in a branch
    taken only when some element of any argument set needs it. The per-path arguments may be shaped
    ``(paths, 1)`` against ``(paths, terms)`` for the others: the coefficients are then computed once per
    path and argument sets sharing those arrays share them. Each element's value depends on its own
    arguments alone. Under ``jax.vmap(..., axis_name=axis_name)`` pass the axis' name: the branch is then
    decided once for the whole batch (a real branch, not both sides computed).
    """
    coefficients: dict[tuple[int, int, int], tuple[Array, Array, list[Array], list[Array]]] = {}
    short, large = [], []
    for base_rate, shock, shock_months, delta, flow_part, shock_cost in arguments:
        key = (id(base_rate), id(shock_months), id(delta))
        if key not in coefficients:
            q = jnp.exp(-1.0 / shock_months)
            r = delta * jnp.exp(-base_rate)
            coefficients[key] = (q, 1.0 - q, *peace_coefficients(r, q))
        q, one_minus_q, c0, c1 = coefficients[key]
        amp = shock / one_minus_q
        short.append(jnp.exp(-amp) * (flow_part * horner(c0, amp) - shock_cost * horner(c1, amp)))
        large.append(jnp.broadcast_to(amp > PEACE_HORNER_AMPLITUDE, short[-1].shape))
    needed = jnp.any(jnp.stack([jnp.any(x) for x in large]))
    if axis_name is not None:
        needed = lax.psum(needed.astype(jnp.int32), axis_name) > 0

    def by_terms() -> list[Array]:
        # every argument set flattened into one loop (one loop to compile, not one per set)
        shapes = [x.shape for x in large]
        flat = [
            jnp.concatenate(
                [jnp.broadcast_to(args[i], shape).ravel() for args, shape in zip(arguments, shapes, strict=True)]
            )
            for i in range(6)
        ]
        active = jnp.concatenate([x.ravel() for x in large])
        summed = peace_value_by_terms(flat[0], flat[1], flat[2], flat[3], flat[4], flat[5], active=active, tol=tol)
        out, start = [], 0
        for big, value in zip(large, short, strict=True):
            out.append(jnp.where(big, summed[start : start + big.size].reshape(big.shape), value))
            start += big.size
        return out

    return list(lax.cond(needed, by_terms, lambda: short))


def peace_value_by_terms(
    base_rate: Array,
    shock: Array,
    shock_months: Array,
    delta: Array,
    flow_part: Array,
    shock_cost: Array,
    active: Array | None = None,
    tol: float = 1e-12,
) -> Array:
    """The series of :func:`peace_values` summed term by term, as NumPy's ``leader.peace_series`` does; only
    the ``active`` elements (all by default; elsewhere 0).

    Each element stops adding terms once its own next term is below ``tol``, so its value does not
    depend on the rest of the batch (a ``lax.while_loop`` runs until every element has stopped: no
    iteration when none is active).
    """
    q = jnp.exp(-1.0 / shock_months)
    amp = shock / (1.0 - q)
    r = delta * jnp.exp(-base_rate)
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in (base_rate, shock, q, flow_part, delta, shock_cost)))
    flow_part, shock_cost, amp, q = (jnp.broadcast_to(a, shape) for a in (flow_part, shock_cost, amp, q))
    bound = 1.0 + jnp.abs(flow_part) + jnp.abs(shock_cost)
    rq = jnp.broadcast_to(r, shape)
    g_n = 1.0 / (1.0 - rq)
    first = jnp.ones(shape, dtype=bool) if active is None else jnp.broadcast_to(active, shape)
    init: tuple[Array, ...] = (jnp.int32(0), rq, g_n, jnp.zeros(shape), jnp.ones(shape), first)

    def more(carry: tuple[Array, ...]) -> Array:
        n, _, _, _, _, active = carry
        return (n <= PEACE_SERIES_TERMS) & jnp.any(active)

    def term(carry: tuple[Array, ...]) -> tuple[Array, ...]:
        n, rq, g_n, total, weight, active = carry
        rq = rq * q
        g_next = 1.0 / (1.0 - rq)
        total = total + jnp.where(active, weight * (g_n * flow_part - shock_cost * g_next), 0.0)
        n = n + 1
        weight = weight * amp / n
        active = active & (jnp.abs(weight) * (jnp.abs(g_next) * bound + 1.0) >= tol)
        return n, rq, g_next, total, weight, active

    total = lax.while_loop(more, term, init)[3]
    return jnp.exp(-amp) * total
