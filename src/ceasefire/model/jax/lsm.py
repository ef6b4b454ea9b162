"""A leader's stopping rule by least-squares Monte Carlo, in JAX, for the paths of one sample.

A port of :class:`ceasefire.solve.lsm.OptimalStopping` with the polynomial basis, specialised to
what the engine needs (:func:`ceasefire.model.decision.solve_rules`): backward induction over the
dates ``T-1 .. 0`` (a reversed ``lax.scan``), at each date a ridge least-squares fit of the realized
continuation on the regressors of the paths that can stop, by the normal equations of the
standardized problem (``jnp.linalg.solve``). Same centring, scaling, ridge, constant-column and
too-few-paths rules as :func:`ceasefire.solve.lsm._regress`. Under ``vmap`` each sample gets its
own fit.

Longstaff, F. A. & Schwartz, E. S. (2001). Valuing American options by simulation: a simple
least-squares approach. *Review of Financial Studies* 14(1), 113-147.
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import jax
import jax.numpy as jnp
from jax import lax

from ceasefire.solve.lsm import _CONSTANT_COLUMN

Array = jax.Array


def polynomial_columns(state: Array, degree: int) -> Array:
    """``(k, paths)`` monomials of total degree ``<= degree`` of states ``(paths, d)``, in the order of
    :class:`ceasefire.solve.lsm.PolynomialBasis` (1, then ``x_i``, then ``x_i x_j`` with ``i <= j``, ...)."""
    d = state.shape[-1]
    columns: dict[tuple[int, ...], Array] = {(): jnp.ones(state.shape[:-1])}
    for deg in range(1, degree + 1):
        for combo in combinations_with_replacement(range(d), deg):
            columns[combo] = columns[combo[:-1]] * state[..., combo[-1]]
    return jnp.stack(list(columns.values()), axis=0)


def combine(regressors: Array, coefficients: Array) -> Array:
    """``sum_j X[j, i] beta[j]`` for regressors ``(k, paths)``, summed in a fixed order."""
    out = regressors[0] * coefficients[0]
    for j in range(1, regressors.shape[0]):
        out = out + regressors[j] * coefficients[j]
    return out


def tree_sum(x: Array) -> Array:
    """Sum over the last axis as a fixed tree of elementwise additions (zero-padded to a power of two).

    XLA may vectorize a ``reduce`` differently for differently shaped batches, which changes the
    rounding; elementwise additions in a fixed order give every sample the same bits whatever the
    number of samples in the call.
    """
    n = x.shape[-1]
    width = 1 << max(n - 1, 0).bit_length()
    if width > n:
        x = jnp.concatenate([x, jnp.zeros((*x.shape[:-1], width - n), dtype=x.dtype)], axis=-1)
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        x = x[..., :half] + x[..., half:]
    return x[..., 0]


def regress(regressors: Array, target: Array, active: Array, ridge: float) -> Array:
    """Ridge least-squares coefficients ``(k,)`` of ``target`` on ``regressors`` ``(k, paths)`` over the
    ``active`` paths; NaN with none active (see :func:`ceasefire.solve.lsm._regress`)."""
    k = regressors.shape[0]
    count = active.sum().astype(jnp.float64)
    safe = jnp.maximum(count, 1.0)
    target_mean = tree_sum(jnp.where(active, target, 0.0)) / safe
    target_centred = jnp.where(active, target - target_mean, 0.0)
    mean = tree_sum(jnp.where(active[None, :], regressors, 0.0)) / safe
    centred = jnp.where(active[None, :], regressors - mean[:, None], 0.0)
    # products summed along the paths by a fixed tree, not a matrix product or a reduce: a sample's
    # numbers must not depend on how many samples share the call
    gram = tree_sum(centred[:, None, :] * centred[None, :, :]) / safe
    rhs = tree_sum(centred * target_centred[None, :]) / safe
    spread = jnp.sqrt(jnp.maximum(jnp.diagonal(gram), 0.0))
    keep = spread > _CONSTANT_COLUMN * jnp.sqrt(mean * mean + spread * spread)
    keep = keep.at[0].set(False) & (count >= k)
    scale = jnp.where(keep, spread, 1.0)
    both = keep[:, None] & keep[None, :]
    standardized = jnp.where(both, gram / (scale[:, None] * scale[None, :]), 0.0)
    standardized = standardized + jnp.diag(jnp.where(keep, ridge, 1.0))
    solved = jnp.linalg.solve(standardized, jnp.where(keep, rhs / scale, 0.0))
    beta = jnp.where(keep, solved / scale, 0.0)
    beta = beta.at[0].set(target_mean - tree_sum(beta[1:] * mean[1:]))
    return jnp.where(count == 0, jnp.nan, beta)


def fit(state: Array, stop: Array, flow: Array, discount: Array, terminal: Array, degree: int, ridge: float) -> Array:
    """Coefficients ``(T+1, k)`` of the continuation value at each date (row ``T`` zero; NaN at a date
    where no path could stop), fitted by backward induction.

    Parameters
    ----------
    state
        ``(T+1, paths, d)`` regressors' states.
    stop
        ``(T+1, paths)`` payoff of stopping, NaN where stopping is not possible.
    flow, discount
        ``(T, paths)``: the month's value when continuing, and discount times survival to the next.
    terminal
        ``(paths,)`` value of continuing past ``T``.
    """
    horizon = flow.shape[0]
    reached = jnp.concatenate(
        [jnp.ones((1, stop.shape[1]), dtype=bool), jnp.cumprod(discount != 0, axis=0).astype(bool)], axis=0
    )
    last = stop[horizon]
    cash = jnp.where(~jnp.isnan(last) & (last >= terminal), last, terminal)

    def back(cash: Array, xs: tuple[Array, ...]) -> tuple[Array, Array]:
        x, payoff, f, disc, ok = xs
        realized = f + disc * cash
        can_stop = ~jnp.isnan(payoff)
        regressors = polynomial_columns(x, degree)
        beta = regress(regressors, realized, can_stop & ok, ridge)
        continuation = combine(regressors, beta)
        exercise = can_stop & (payoff >= continuation)
        return jnp.where(exercise, payoff, realized), beta

    _, betas = lax.scan(back, cash, (state[:horizon], stop[:horizon], flow, discount, reached[:horizon]), reverse=True)
    return jnp.concatenate([betas, jnp.zeros((1, betas.shape[1]))], axis=0)
