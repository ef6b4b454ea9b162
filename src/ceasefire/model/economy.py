"""Treasury, commodity revenue under sanctions, and economic pain (pure array kernels).

Per side and month, in the side's own budget unit::

    revenue  = other revenue + commodity revenue * price * (1 - sanctions) + aid finance
    spending = other spending + war spending * (1 at war, else the peace share)
    R       <- max(R + s * (revenue - spending), 0)     (s: share of a deficit drawn from reserves)
    pain     = max(deficit - deficit0, 0) / spending0 + w * [R exhausted] * deficit / spending0

Pain is zero at the start: only worsening relative to the start moves the hazard. The kernels
compute with their arguments' array library (:func:`.xp.namespace`): NumPy or ``jax.numpy``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.xp import namespace

Array = NDArray[np.float64]


def log_price_step(log_price: Array, reversion: Array, volatility: Array, z: Array) -> Array:
    """Mean-reverting log price relative to the start (0 at the start)."""
    return (1.0 - reversion) * log_price + volatility * z


def treasury_step(
    reserves: Array, revenue: Array, spending: Array, reserve_share: Array
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """One month of the treasury.

    Returns the new reserves, the deficit (non-negative) and whether the reserves are exhausted.
    """
    xp = namespace(reserves, revenue, spending, reserve_share)
    balance = revenue - spending
    after = reserves + reserve_share * balance
    deficit = xp.maximum(-balance, 0.0)
    exhausted = (after <= 0.0) & (deficit > 0.0)
    return xp.maximum(after, 0.0), deficit, exhausted


def economic_pain(
    deficit: Array, deficit0: Array, exhausted: NDArray[np.bool_], spending0: Array, exhaustion_weight: Array
) -> Array:
    """Dimensionless economic pain; see the module docstring."""
    xp = namespace(deficit, deficit0, exhausted, spending0, exhaustion_weight)
    worse = xp.maximum(deficit - deficit0, 0.0) / spending0
    return worse + exhaustion_weight * exhausted * deficit / spending0


def stability_step(
    stability: Array,
    initial: Array,
    recovery: Array,
    pain: Array,
    pain_sensitivity: Array,
    casualty_excess: Array,
    casualty_sensitivity: Array,
    noise_sd: Array,
    z: Array,
) -> Array:
    """Domestic stability in [0, 1]: pulled back to its start, pushed down by pain and casualties."""
    s = stability + recovery * (initial - stability) - pain_sensitivity * pain
    s = s - casualty_sensitivity * casualty_excess + noise_sd * z
    return namespace(s).clip(s, 0.0, 1.0)
