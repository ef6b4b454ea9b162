"""A leader's stopping rule by least-squares Monte Carlo, in JAX, for the paths of one sample.

A port of :class:`ceasefire.solve.lsm.OptimalStopping` with the polynomial basis, specialised to
what the engine needs (:func:`ceasefire.model.decision.solve_rules`): backward induction over the
dates ``T-1 .. 0`` (a reversed ``lax.scan``), at each date a ridge least-squares fit of the realized
continuation on the regressors of the paths that can stop, by the normal equations of the
standardized problem (``jnp.linalg.solve``). Same centring, scaling, ridge, constant-column and
too-few-paths rules as :func:`ceasefire.solve.lsm._regress`. The engine maps the fits one at a
time (``lax.map``), each sample's own.

Longstaff, F. A. & Schwartz, E. S. (2001). Valuing American options by simulation: a simple
least-squares approach. *Review of Financial Studies* 14(1), 113-147.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ceasefire.solve.lsm import _CONSTANT_COLUMN, PolynomialBasis

Array = jax.Array


def polynomial_columns(state: Array, degree: int) -> Array:
    """``(k, paths)`` monomials of total degree ``<= degree`` of states ``(paths, d)``, the columns of
    :class:`ceasefire.solve.lsm.PolynomialBasis`."""
    return jnp.stack(PolynomialBasis(degree).columns(state, jnp), axis=0)  # type: ignore[arg-type]


def combine(regressors: Array, coefficients: Array) -> Array:
    """``sum_j X[j, i] beta[j]`` for regressors ``(k, paths)``, summed in a fixed order."""
    out = regressors[0] * coefficients[0]
    for j in range(1, regressors.shape[0]):
        out = out + regressors[j] * coefficients[j]
    return out


def _dot(a: Array, b: Array) -> Array:
    """A matrix product summed along the paths in full float64."""
    return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


def regress(regressors: Array, target: Array, active: Array, ridge: float) -> Array:
    """Ridge least-squares coefficients ``(k,)`` of ``target`` on ``regressors`` ``(k, paths)`` over the
    ``active`` paths; NaN with none active (see :func:`ceasefire.solve.lsm._regress`).

    The sums over paths are matrix products (XLA's dot: the normal equations' Gram matrix of 21
    columns is most of the fit's arithmetic). Call it on one sample, not under ``vmap``
    (:func:`fit_samples` maps it over samples): a batched product may round differently for
    differently many samples, a sample's own product does not.
    """
    k = regressors.shape[0]
    weight = active.astype(regressors.dtype)
    count = weight.sum()
    safe = jnp.maximum(count, 1.0)
    target_mean = _dot(weight, jnp.where(active, target, 0.0)) / safe
    target_centred = jnp.where(active, target - target_mean, 0.0)
    mean = _dot(regressors, weight) / safe
    centred = jnp.where(active[None, :], regressors - mean[:, None], 0.0)
    gram = _dot(centred, centred.T) / safe
    rhs = _dot(centred, target_centred) / safe
    spread = jnp.sqrt(jnp.maximum(jnp.diagonal(gram), 0.0))
    keep = spread > _CONSTANT_COLUMN * jnp.sqrt(mean * mean + spread * spread)
    keep = keep.at[0].set(False) & (count >= k)
    scale = jnp.where(keep, spread, 1.0)
    both = keep[:, None] & keep[None, :]
    standardized = jnp.where(both, gram / (scale[:, None] * scale[None, :]), 0.0)
    standardized = standardized + jnp.diag(jnp.where(keep, ridge, 1.0))
    solved = jnp.linalg.solve(standardized, jnp.where(keep, rhs / scale, 0.0))
    beta = jnp.where(keep, solved / scale, 0.0)
    beta = beta.at[0].set(target_mean - _dot(beta[1:], mean[1:]))
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
