"""The bargaining range (Fearon 1995): the deals both sides prefer to fighting on.

A deal gives A a share ``x`` of the disputed stake and B the rest. Each leader values a deal
through his victory score ``v``, increasing in his share, and accepts it when its value reaches
his value of fighting on. His *reservation score* is the smallest ``v`` he accepts; the range is
the set of ``x`` acceptable to both::

    x >= x_A = r_A + s_A      and      1 - x >= r_B + s_B

where ``s`` converts a share into a score (``v = clip(x - s, 0, 1)``; ``s = 0`` for a leader who
wants exactly his stated aims). In Fearon's one-shot game the values are linear, ``v`` itself,
and fighting is worth ``p - c_A`` and ``1 - p - c_B``: the range is ``(p - c_A, p + c_B)``.

The kernels compute with their arguments' array library (:func:`ceasefire.model.xp.namespace`):
NumPy here, ``jax.numpy`` in the JAX engine.

Fearon, J. D. (1995). Rationalist explanations for war. *International Organization* 49(3), 379-414.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.xp import ignore_invalid, namespace

Array = NDArray[np.float64]


def reservation_score(values: Array, grid: Array, fight: Array) -> Array:
    """Smallest victory score whose peace value reaches the value of fighting on.

    Parameters
    ----------
    values
        ``(n, G)`` value of peace at each victory score of ``grid``; non-decreasing along the grid.
    grid
        ``(G,)`` increasing victory scores from 0 to 1.
    fight
        ``(n,)`` value of fighting on.

    Returns
    -------
    ``(n,)`` reservation score, linear between grid points; ``-inf`` where even a score of 0 is
    accepted and ``+inf`` where even 1 is not (and NaN where ``fight`` is NaN).
    """
    xp = namespace(values, grid, fight)
    ok = values >= fight[:, None]
    first = xp.argmax(ok, axis=1)  # first grid point accepted
    rows = xp.arange(values.shape[0])
    lo = xp.maximum(first - 1, 0)
    found = cast(NDArray[np.bool_], ok.any(axis=1))
    return interpolate_reservation(found, first, values[rows, lo], values[rows, first], grid, fight)


def interpolate_reservation(
    found: NDArray[np.bool_], first: NDArray[np.int64], v_lo: Array, v_hi: Array, grid: Array, fight: Array
) -> Array:
    """:func:`reservation_score` from the first grid point accepted on each path.

    ``found`` says whether any is, ``first`` which (0 where none), ``v_hi`` its value of peace and
    ``v_lo`` that of the point before it (its own at the first point); where none is found these
    values are not read.
    """
    xp = namespace(v_lo, v_hi, grid, fight)
    lo = xp.maximum(first - 1, 0)
    rising = v_hi > v_lo
    step = xp.where(rising, (fight - v_lo) / xp.where(rising, v_hi - v_lo, 1.0), 1.0)
    score = grid[lo] + xp.clip(step, 0.0, 1.0) * (grid[first] - grid[lo])
    out = xp.where(found, score, xp.inf)
    out = xp.where(found & (first == 0), -xp.inf, out)
    return xp.where(xp.isnan(fight), xp.nan, out)


def bargaining_range(reservation_a: Array, shift_a: Array, reservation_b: Array, shift_b: Array) -> tuple[Array, Array]:
    """The range of A's share of the stake that both leaders accept: ``(low, high)``.

    Shares lie in [0, 1]; where no share is acceptable to both, both bounds are NaN.
    """
    xp = namespace(reservation_a, shift_a, reservation_b, shift_b)
    low = xp.clip(reservation_a + shift_a, 0.0, 1.0)
    high = xp.clip(1.0 - (reservation_b + shift_b), 0.0, 1.0)
    with ignore_invalid(xp):
        exists = (reservation_a + shift_a <= 1.0 - (reservation_b + shift_b)) & (low <= high)
    exists = exists & ~(xp.isnan(reservation_a) | xp.isnan(reservation_b))
    return xp.where(exists, low, xp.nan), xp.where(exists, high, xp.nan)
