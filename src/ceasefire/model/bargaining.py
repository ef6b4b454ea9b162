"""Victory scores of the terms on the table and the choice among acceptable terms.

A leader's victory score of terms ``k`` is the weighted share of his aims that the terms meet,
or that the battlefield has met (an aim tied to an objective)::

    score_ik = sum_j w_ij * g_ijk / sum_j w_ij
    v_ik     = clip(1 - max(a_i + kappa_i * C_i - score_ik - c_ik, 0), 0, 1)

``a_i`` is the aspiration (1 = the stated aims), ``c_ik`` the concession the terms give him
beyond his aims, ``C_i`` every concession offered to him, and ``kappa_i`` the opportunism
ratchet (Aron's reason 6). With ``kappa >= 1`` a concession raises the aspiration at least as
much as the score, so concessions alone never close the gap.

:func:`weighted_attainment`, :func:`victory_from_score`, :func:`choose_terms` and
:func:`breakdown_probability` compute with their arguments' array library
(:func:`.xp.namespace`), NumPy or ``jax.numpy``: the JAX engine uses them as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.xp import namespace

Array = NDArray[np.float64]


def weighted_attainment(
    granted: NDArray[np.bool_],
    progress: Array,
    effect_lost: NDArray[np.bool_],
    weights: NDArray[np.float64],
    untied: NDArray[np.bool_] | None = None,
    by_terms: bool = False,
) -> Array:
    """``(n, terms)``: ``sum_j w_j g_jk / sum_j w_j`` without forming the ``(n, aims, terms)`` array.

    Since a grant is 0 or 1, an aim achieved by progress ``p`` scores ``g + (1 - g) p`` and an aim
    lost by it scores ``g (1 - p)``: the score is affine in the progress,
    ``const_k + sum_j p_nj W_jk``.

    ``untied`` (``(aims,)``, optional) marks aims tied to no objective, whose ``progress`` column
    is zero on every path: their terms of the sum are skipped (the same scores, bit for bit).
    ``by_terms``: the scores laid out ``(terms, n)`` (the same numbers, each path's along rows).
    The structure (``granted``, ``effect_lost``, ``weights``, ``untied``) is NumPy's; ``progress`` may
    be a JAX array.
    """
    const, slope, summed = _affine(granted, effect_lost, weights, untied)
    xp = namespace(progress)
    # an explicit sum over the few aims, not a matrix product: BLAS may round differently for
    # different batch sizes, and a path's numbers must not depend on its chunk
    if by_terms:
        score = xp.broadcast_to(const[:, None], (const.size, progress.shape[0]))
        for j in summed:
            score = score + progress[:, j] * slope[j][:, None]
    else:
        score = xp.broadcast_to(const, (progress.shape[0], const.size))
        for j in summed:
            score = score + progress[:, j, None] * slope[j]
    return score if summed else xp.array(score)  # a new array, not a view of the constant


def weighted_attainment_at(
    granted: NDArray[np.bool_],
    progress: Array,
    effect_lost: NDArray[np.bool_],
    weights: NDArray[np.float64],
    terms: NDArray[np.int64],
    untied: NDArray[np.bool_] | None = None,
) -> Array:
    """``(k,)``: the score of terms ``terms[e]`` at the progress ``progress[e]`` (``(k, aims)``), single
    elements of :func:`weighted_attainment` with the same arithmetic (the same bits)."""
    const, slope, summed = _affine(granted, effect_lost, weights, untied)
    score = const[terms]
    for j in summed:
        score += progress[:, j] * slope[j][terms]
    return score


def _affine(
    granted: NDArray[np.bool_],
    effect_lost: NDArray[np.bool_],
    weights: NDArray[np.float64],
    untied: NDArray[np.bool_] | None,
) -> tuple[Array, Array, list[int]]:
    """The score's constant ``(terms,)``, slopes ``(aims, terms)`` and the aims whose terms are summed.

    An untied aim's zero progress adds exact zeros, which change no score unless the score is -0.0:
    none is when no constant is (``x + y`` is -0.0 only for ``x = y = -0.0``), so it is left out,
    the same bits.
    """
    w = (weights / weights.sum())[:, None]
    g = granted.astype(float)
    lost = effect_lost[:, None]
    const = (w * g).sum(axis=0)
    slope = w * np.where(lost, -g, 1.0 - g)
    skip = np.zeros(slope.shape[0], dtype=bool)
    if untied is not None and not np.signbit(const).any():
        skip = untied & np.isfinite(slope).all(axis=1)
    return const, slope, [j for j in range(slope.shape[0]) if not skip[j]]


def victory_from_score(
    score: Array,
    aspiration: Array,
    concession: Array,
    concession_offered: Array,
    ratchet: Array,
    by_terms: bool = False,
) -> Array:
    """``v = clip(1 - max(a + kappa C - score - c, 0), 0, 1)`` for ``(n, terms)`` scores.

    ``by_terms``: ``score`` and ``concession`` (and the result) are laid out ``(terms, n)``.
    """
    # a per-path argument may be a per-sample scalar (in the JAX engine): indexing with ... broadcasts both
    per_path: Callable[[Array], Array] = (lambda a: a[None, ...]) if by_terms else (lambda a: a[..., None])
    shortfall = per_path(aspiration) + per_path(ratchet) * per_path(concession_offered) - score - concession
    xp = namespace(score, aspiration, concession, concession_offered, ratchet)
    return xp.clip(1.0 - xp.maximum(shortfall, 0.0), 0.0, 1.0)


def choose_terms(gain_a: Array, gain_b: Array, available: NDArray[np.bool_]) -> Array:
    """Terms chosen on each path, or -1: acceptable to both, largest Nash product of gains.

    ``gain_x`` is the leader's value of settling on each terms minus his value of fighting on,
    shape ``(n, terms)``; ``available`` is ``(terms,)`` or ``(n, terms)``.
    """
    xp = namespace(gain_a, gain_b, available)
    ok = (gain_a >= 0.0) & (gain_b >= 0.0) & xp.broadcast_to(available, gain_a.shape)
    nash = xp.where(ok, gain_a * gain_b, -xp.inf)
    best = xp.argmax(nash, axis=1)
    return xp.where(ok.any(axis=1), best, -1)


def breakdown_probability(
    base: Array, guarantees: NDArray[np.bool_], guarantee_factor: Array, record_factor: Array, broken_before: Array
) -> Array:
    """Monthly probability that a ceasefire breaks down (Fortna 2004; Powell 2006).

    Security guarantees multiply it by ``guarantee_factor``; every agreement broken before by
    ``record_factor``.
    """
    xp = namespace(base, guarantees, guarantee_factor, record_factor, broken_before)
    p = base * xp.where(guarantees, guarantee_factor, 1.0) * xp.power(record_factor, broken_before)
    return xp.clip(p, 0.0, 1.0)
