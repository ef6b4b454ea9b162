"""A leader's value of office: settling now against fighting on (pure array kernels).

Values are in months of office. In office a month is worth 1 (plus ``m``, the trappings of
militarism, while at war); removal costs the punishment ``Pi`` once. With monthly discount
``delta`` and removal rate ``lambda_u`` (survival ``S_u = exp(-sum_{w<u} lambda_w)``)::

    V = sum_u delta^u S_u (flow_u - lambda_u Pi)

which charges the punishment at the rate of removal (exact to first order in the monthly
hazard, a few percent at most here). For peace signed now the rate is
``lambda_u = lambda0 + J q^u`` with ``q = exp(-1 / tau)``: the transition shock ``J`` decays
with time constant ``tau``. Then ``S_u = exp(-lambda0 u - A (1 - q^u))`` with
``A = J / (1 - q)``, and expanding ``exp(A q^u)`` gives the closed form used by
:func:`peace_value`::

    V = exp(-A) sum_n A^n / n! [G_n (1 - lambda0 Pi) - J Pi G_{n+1}],
    G_n = 1 / (1 - delta exp(-lambda0) q^n).

:func:`stationary_value` and :func:`fight_value` compute with their arguments' array library
(:func:`.xp.namespace`), NumPy or ``jax.numpy``. :func:`peace_value` is NumPy's own: its series
is summed in place, block by block, where the JAX engine sums it as a polynomial of fixed degree
(:func:`ceasefire.model.jax.peace.peace_value`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.xp import namespace

Array = NDArray[np.float64]


def stationary_value(flow: Array, rate: Array, punishment: Array, delta: Array) -> Array:
    """Value of a constant monthly flow under a constant removal rate, forever."""
    return (flow - rate * punishment) / (1.0 - delta * namespace(flow, rate, punishment, delta).exp(-rate))


PEACE_BLOCK = 1 << 16
"""Elements of :func:`peace_value` (or of its bounds) worked out together at most (rows of a large
batch go in blocks)."""


def peace_value(
    base_rate: Array, shock: Array, shock_months: Array, punishment: Array, delta: Array, tol: float = 1e-12
) -> Array:
    """Value of signing now with a flow of 1 in office and the punishment charged at the removal rate;
    all arguments broadcast together. See the module docstring."""
    return peace_series(base_rate, shock, shock_months, delta, 1.0 - base_rate * punishment, shock * punishment, tol)


def peace_series(
    base_rate: Array,
    shock: Array,
    shock_months: Array,
    delta: Array,
    flow_part: Array,
    shock_cost: Array,
    tol: float = 1e-12,
) -> Array:
    """``sum_u delta^u S_u (a - c q^u)`` with ``S_u = exp(-sum_{w<u} (lambda0 + J q^w))``: the value of a
    state left at the rate ``lambda0 + J q^u`` (``q = exp(-1 / shock_months)``), worth ``a - c q^u`` in
    month ``u`` (``flow_part`` ``a``, ``shock_cost`` ``c``); all arguments broadcast together.

    ``a = 1 - lambda0 Pi``, ``c = J Pi`` is :func:`peace_value`. A large batch is summed in blocks of
    rows (:func:`_in_row_blocks`), each element stopping at its own remainder: the values are those of
    one call on the whole batch, bit for bit.
    """
    args = (base_rate, shock, shock_months, delta, flow_part, shock_cost)
    return _in_row_blocks(partial(_peace_series, tol=tol), args, 1)[0]


def _in_row_blocks(
    kernel: Callable[..., Array | tuple[Array, ...]], args: tuple[Array, ...], outputs: int
) -> tuple[Array, ...]:
    """``kernel(*args)`` as a tuple of its ``outputs`` arrays (element-wise, of the arguments' broadcast
    shape), a large batch worked in blocks of rows of at most :data:`PEACE_BLOCK` elements: the
    temporaries of a block stay in the processor's cache, and each element's arithmetic is the same in
    any block."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    size = math.prod(shape)
    if size == 0:  # no element: nothing to work out (a series would run to its last term)
        return tuple(np.empty(shape) for _ in range(outputs))
    if not shape or shape[0] < 2 or size <= PEACE_BLOCK:
        return _outputs(kernel(*args))
    rows = max(1, PEACE_BLOCK // max(1, size // shape[0]))
    out = tuple(np.empty(shape) for _ in range(outputs))
    for lo in range(0, shape[0], rows):
        block = slice(lo, lo + rows)
        parts = kernel(*(a[block] if np.ndim(a) == len(shape) and np.shape(a)[0] == shape[0] else a for a in args))
        for whole, part in zip(out, _outputs(parts), strict=True):
            whole[block] = part
    return out


def _outputs(result: Array | tuple[Array, ...]) -> tuple[Array, ...]:
    return result if isinstance(result, tuple) else (result,)


def _peace_series(
    base_rate: Array, shock: Array, shock_months: Array, delta: Array, flow_part: Array, shock_cost: Array, tol: float
) -> Array:
    """The series of :func:`peace_value` on one batch.

    The value is linear in the punishment: ``V = e^{-A} [(1 - lambda0 Pi) S_0 - J Pi S_1]`` with
    ``S_k = sum_n A^n / n! G_{n+k}``, so the two sums are accumulated apart and the ``G_n``, which
    depend on the path only (not on the terms), are computed once per path and order. An element
    stops adding terms once its weight ``A^n / n!`` times its scale ``G_0 (|1 - lambda0 Pi| + J Pi + 1)``
    (a bound on every later term, as ``G_n <= G_0``) is below ``tol``: its weight is set to zero,
    so its value does not depend on the other elements of the batch.
    """
    q = np.exp(-1.0 / shock_months)
    r = delta * np.exp(-base_rate)
    shape = np.broadcast_shapes(
        np.shape(base_rate), np.shape(shock), np.shape(q), np.shape(flow_part), np.shape(shock_cost), np.shape(delta)
    )
    amp = np.broadcast_to(shock / (1.0 - q), shape)
    scale = np.broadcast_to((np.abs(flow_part) + np.abs(shock_cost) + 1.0) / (1.0 - r), shape)
    weight = np.ones(shape)  # A^n / n!, zero once the element has converged
    s0, s1, term = np.zeros(shape), np.zeros(shape), np.empty(shape)
    rq = r * np.ones_like(q)  # r q^n, per path: the G_n need no (paths, terms) work
    g_n = 1.0 / (1.0 - rq)
    for n in range(1, 402):
        rq = rq * q
        g_next = 1.0 / (1.0 - rq)
        np.multiply(weight, g_n, out=term)
        s0 += term
        np.multiply(weight, g_next, out=term)
        s1 += term
        weight *= amp
        weight *= 1.0 / n
        np.multiply(weight, scale, out=term)
        going = term >= tol
        if not going.all():
            weight *= going
            if not going.any():
                break
        g_n = g_next
    return np.exp(-amp) * (flow_part * s0 - shock_cost * s1)


CEILING_TERMS = 2
"""Terms of :func:`peace_value`'s series that :func:`peace_value_ceiling` sums before bounding the rest."""

CEILING_MAX_AMPLITUDE = 50.0
"""Largest amplitude ``A`` certified by :func:`peace_value_ceiling`; its series then converges
(to ``tol``) long before :func:`peace_value`'s last term."""


def peace_value_ceiling(
    base_rate: Array,
    shock: Array,
    shock_months: Array,
    delta: Array,
    flow_part: Array,
    shock_cost: Array,
    tol: float = 1e-12,
) -> Array:
    """A cheap upper bound on :func:`peace_series` as it computes it (arguments broadcast together).

    The first :data:`CEILING_TERMS` terms of each sum ``S_k = sum_n A^n / n! G_{n+k}`` are exact;
    ``e^{-A}`` times the rest lies between ``e^{-A} A^K / K! G_{K+k}`` (its first term) and
    ``A^K / K! G_{K+k}`` (the ``G_n`` fall with ``n``, and ``sum_{n >= K} A^n / n! <= A^K / K! e^A``):
    an interval of width at most ``A^K / K! G_K (1 - e^{-A})``, at most ``A^K / K! min(A, 1)`` of the
    value's scale. ``V = e^{-A} [a S_0 - c S_1]`` is then at most its value at the low ends plus that
    width times the coefficients' sizes. The result is raised further by ``1e-9 (scale + 1) + tol``
    (``scale`` as in the series' stopping test), more than both the series' truncation (at most ``tol``)
    and its rounding (a few ulps of ``scale`` per term), so ``peace_series(...) <= peace_value_ceiling(...)``
    holds for the computed values, not only the exact ones.

    ``+inf`` where the bound is not certified: a negative or non-finite shock, an amplitude above
    :data:`CEILING_MAX_AMPLITUDE`, a discount-and-survival factor or decay outside ``[0, 1)``, a
    scale of ``1e100`` or more, non-finite arguments. A large batch is worked in blocks of rows, as
    :func:`peace_series`'s.
    """
    args = (base_rate, shock, shock_months, delta, flow_part, shock_cost)
    return _in_row_blocks(partial(_peace_interval, tol=tol, with_floor=False), args, 1)[0]


def peace_value_bounds(
    base_rate: Array,
    shock: Array,
    shock_months: Array,
    delta: Array,
    flow_part: Array,
    shock_cost: Array,
    tol: float = 1e-12,
) -> tuple[Array, Array]:
    """``(floor, ceiling)`` around :func:`peace_series` as it computes it: the ceiling is
    :func:`peace_value_ceiling`'s, bit for bit, and the floor lies as far below the same low ends
    (the value at the low ends, less the intervals' width times the coefficients' sizes and the
    same margin). ``-inf`` and ``+inf`` where not certified (see :func:`peace_value_ceiling`); a large
    batch in blocks of rows."""
    args = (base_rate, shock, shock_months, delta, flow_part, shock_cost)
    floor, ceiling = _in_row_blocks(partial(_peace_interval, tol=tol, with_floor=True), args, 2)
    return floor, ceiling


def _peace_interval(
    base_rate: Array,
    shock: Array,
    shock_months: Array,
    delta: Array,
    flow_part_in: Array,
    shock_cost_in: Array,
    tol: float,
    with_floor: bool,
) -> tuple[Array, ...]:
    """``(floor, ceiling)`` of :func:`peace_value_bounds`, or ``(ceiling,)`` alone without ``with_floor``."""
    k = CEILING_TERMS
    shape = np.broadcast_shapes(
        *(np.shape(a) for a in (base_rate, shock, shock_months, delta, flow_part_in, shock_cost_in))
    )
    floor = None
    # the arithmetic of elements outside the certified range may overflow or give NaN: they are set
    # aside. Worked in place, in five arrays (six with the floor): fresh temporaries would cost more
    # than the arithmetic
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        q = np.exp(-1.0 / shock_months)  # per path, as are r and the G_n
        r = delta * np.exp(-base_rate)
        rq = [r]
        for _ in range(k + 1):
            rq.append(rq[-1] * q)
        g = [1.0 / (1.0 - x) for x in rq]  # G_0 ... G_{K+1}
        amp = np.empty(shape)
        np.multiply(shock, 1.0 / (1.0 - q), out=amp)
        flow_part = np.empty(shape)
        flow_part[...] = flow_part_in
        shock_cost = np.empty(shape)
        shock_cost[...] = shock_cost_in
        # e^A times the low ends: sum_{n <= K} A^n / n! G_{n+j}, by Horner's rule
        low = [np.empty(shape), np.empty(shape)]
        for j, sums in enumerate(low):
            sums[...] = g[k + j] * (1.0 / math.factorial(k))
            for n in range(k - 1, -1, -1):
                sums *= amp
                sums += g[n + j] * (1.0 / math.factorial(n))
        ceiling, work = low
        ceiling *= flow_part
        work *= shock_cost
        ceiling -= work
        np.negative(amp, out=work)
        np.exp(work, out=work)  # e^{-A}
        ceiling *= work  # the value at the low ends
        if with_floor:
            floor = ceiling.copy()
        np.subtract(1.0, work, out=work)  # 1 - e^{-A}
        work *= g[k] * (1.0 / math.factorial(k))
        for _ in range(k):
            work *= amp  # A^K / K! G_K (1 - e^{-A}): the intervals' width
        work += 1e-9 * g[0]
        magnitude = np.abs(flow_part, out=flow_part)
        magnitude += np.abs(shock_cost, out=shock_cost)
        work *= magnitude
        margin = 1e-9 * (g[0] + 1.0) + tol
        ceiling += work
        ceiling += margin
        if floor is not None:
            floor -= work
            floor -= margin
        path_ok = (r >= 0.0) & (r < 1.0) & (q >= 0.0) & (q < 1.0) & np.isfinite(base_rate)
        # (and a scale below 1e100, with which the series has converged by its last term)
        magnitude += 1.0
        magnitude *= g[0]
        certified = (amp >= 0.0) & (amp <= CEILING_MAX_AMPLITUDE) & (magnitude < 1e100) & np.isfinite(ceiling) & path_ok
    np.copyto(ceiling, np.inf, where=~certified)
    if floor is None:
        return (ceiling,)
    np.copyto(floor, -np.inf, where=~(certified & np.isfinite(floor)))
    return floor, ceiling


def peace_series_shared(
    base_rate: Array, shock: Array, shock_months: Array, delta: Array, flow_part: Array, shock_cost: Array
) -> Array:
    """:func:`peace_series` as ``a P0 - c P1`` with ``P0 = e^{-A} S_0`` and ``P1 = e^{-A} S_1``: the sums are
    taken once on the broadcast shape of the rate, shock, decay and discount, whatever the shapes of
    ``a`` and ``c`` (variants that differ only in the flow and the punishment share them). Agrees with
    :func:`peace_series` to about 1e-13 relative, not to the last bit (another summation)."""
    p0, p1 = series_parts(base_rate, shock, shock_months, delta)
    return flow_part * p0 - shock_cost * p1


def series_parts(
    base_rate: Array, shock: Array, shock_months: Array, delta: Array, tol: float = 1e-13
) -> tuple[Array, Array]:
    """``(e^{-A} S_0, e^{-A} S_1)`` of :func:`peace_series`, the sums over ``n`` taken until every remaining
    term is below ``tol`` (all arguments broadcast together)."""
    q = np.exp(-1.0 / shock_months)
    amp = shock / (1.0 - q)
    shape = np.broadcast_shapes(np.shape(base_rate), np.shape(shock), np.shape(q), np.shape(delta))
    rq = delta * np.exp(-base_rate) * np.ones_like(q)
    g_n = 1.0 / (1.0 - rq)
    s0 = np.zeros(shape)
    s1 = np.zeros(shape)
    weight = np.ones(shape)
    for n in range(1, 401):
        rq = rq * q
        g_next = 1.0 / (1.0 - rq)
        s0 += weight * g_n
        s1 += weight * g_next
        weight = weight * amp / n
        if float(np.max(weight * np.abs(g_n), initial=0.0)) < tol:
            break
        g_n = g_next
    scale = np.exp(-amp)
    return scale * s0, scale * s1


def peace_value_by_recursion(
    base_rate: float, shock: float, shock_months: float, punishment: float, delta: float, months: int = 3000
) -> float:
    """The same value summed month by month (slow; the reference for tests)."""
    value, survive = 0.0, 1.0
    for u in range(months):
        rate = base_rate + shock * np.exp(-u / shock_months)
        value += delta**u * survive * (1.0 - rate * punishment)
        survive *= float(np.exp(-rate))
    return value


def fight_value(flow: Array, rate: Array, punishment: Array, delta: Array, months: int, continuation: Array) -> Array:
    """Value of fighting ``months`` more at a constant removal rate, then ``continuation``."""
    now, then = fight_terms(flow, rate, punishment, delta, months)
    return now + then * continuation


def fight_terms(flow: Array, rate: Array, punishment: Array, delta: Array, months: int) -> tuple[Array, Array]:
    """:func:`fight_value` is ``now + then * continuation``: the value of the ``months`` of fighting
    and the discount-and-survival factor to their end (for several continuations at once)."""
    r = delta * namespace(flow, rate, punishment, delta).exp(-rate)
    return annuity_terms(flow - rate * punishment, r, months)


def annuity_terms(cashflow: Array, r: Array, months: int) -> tuple[Array, Array]:
    """``(now, then)``: a monthly ``cashflow`` for ``months`` months, discounted by ``r`` a month, and the
    factor ``r^months`` to their end."""
    xp = namespace(cashflow, r)
    r_months = xp.power(r, months)
    annuity = xp.where(xp.abs(1.0 - r) > 1e-12, (1.0 - r_months) / (1.0 - r), float(months))
    return cashflow * annuity, r_months
