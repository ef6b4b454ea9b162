"""Attrition: combat power, the front, casualties and stocks (pure array kernels).

Combat power is normalised so that both sides have power 1 at the start::

    P_i = (M_i / M_i0)^a_i * (K_i / K_i0)^b_i

A side's expected losses scale with the *enemy's* power, Lanchester's aimed-fire law
generalised by the fire exponent ``q`` (Lanchester 1916)::

    E[losses_i] = L_i0 * P_j^q

With ``q = 1``, ``b = 0`` and ``a = 1`` this is the square law ``dx/dt = -beta y``, whose
invariant ``alpha x^2 - beta y^2`` the test suite checks.

The kernels compute with their arguments' array library (:func:`.xp.namespace`): NumPy here,
``jax.numpy`` in :mod:`ceasefire.model.jax`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.xp import namespace

Array = NDArray[np.float64]

DAYS_PER_MONTH = 365.25 / 12


def combat_power(manpower: Array, manpower0: Array, a: Array, equipment: Array, b: Array) -> Array:
    """Relative combat power ``(M/M0)^a * K^b``; ``equipment`` is relative to its start (``K/K0``)."""
    xp = namespace(manpower, manpower0, a, equipment, b)
    return xp.power(xp.maximum(manpower, 0.0) / manpower0, a) * xp.power(xp.maximum(equipment, 0.0), b)


def expected_losses(base: Array, enemy_power: Array, fire_exponent: Array) -> Array:
    """Expected losses per month: the start's rate times the enemy's relative power to the ``q``."""
    return base * namespace(base, enemy_power, fire_exponent).power(enemy_power, fire_exponent)


def intensity_factor(z: Array, sd: Array) -> Array:
    """Mean-one log-normal factor of the month's fighting intensity, shared by both sides."""
    return namespace(z, sd).exp(sd * z - 0.5 * sd * sd)


def front_change(mean_gain: Array, power_ratio: Array, elasticity: Array, sd: Array, z: Array) -> Array:
    """Monthly change of A's territory, km²: ``Normal(mu * rho^theta, sd)``."""
    xp = namespace(mean_gain, power_ratio, elasticity, sd, z)
    return mean_gain * xp.power(power_ratio, elasticity) + sd * z


def objective_progress(gained: Array, bounds: NDArray[np.float64]) -> Array:
    """Share of each objective taken, for objectives that fill in order as A's line advances.

    Parameters
    ----------
    gained
        Territory A gained since the start, km², shape ``(n,)``.
    bounds
        Cumulative objective areas, shape ``(n, k + 1)`` (or ``(k + 1,)``, the same on every path)
        starting with zeros.

    Returns
    -------
    Shares in [0, 1], shape ``(n, k)``.
    """
    xp = namespace(gained, bounds)
    # objective by objective on whole columns (a few short rows per path are slow), the same arithmetic
    shares = [
        xp.clip((gained - bounds[..., j]) / (bounds[..., j + 1] - bounds[..., j]), 0.0, 1.0)
        for j in range(bounds.shape[-1] - 1)
    ]
    return xp.stack(shares, axis=1) if shares else xp.zeros((gained.shape[0], 0))


def equipment_step(
    stock: Array,
    storage: Array,
    loss_share: Array,
    enemy_power: Array,
    fire_exponent: Array,
    intensity: Array,
    production: Array,
    restoration: Array,
    delivered: Array,
) -> tuple[Array, Array]:
    """One month of an equipment index: losses, production, restoration from a finite pool, aid.

    Returns the new stock and the new storage pool.
    """
    xp = namespace(
        stock, storage, loss_share, enemy_power, fire_exponent, intensity, production, restoration, delivered
    )
    lost = stock * xp.minimum(loss_share * xp.power(enemy_power, fire_exponent) * intensity, 1.0)
    restored = xp.minimum(storage, restoration)
    return xp.maximum(stock - lost + production + restored + delivered, 0.0), storage - restored
