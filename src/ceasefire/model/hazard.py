"""A leader's monthly hazard of losing office (pure array kernels).

At war (rates per month)::

    lambda_war   = lambda0 * exp(b_c (c / c0 - 1) + b_e pain + b_s (S0 - S))

In peace on terms with victory score ``v``, signed ``u`` months ago::

    lambda_peace = lambda0 * exp(-b_c + b_e pain + b_s (S0 - S) + legitimacy)
                   + J * (1 - v)^gamma * exp(-u / tau)

``lambda0`` is the start's rate from the annual probability ``p``: ``-log(1 - p) / 12``.
``J`` sums the transition reasons (war economy, bonuses and wages, veterans, risk of
change, need for victory). The monthly probability is ``h = 1 - exp(-lambda)``. The kernels
compute with their arguments' array library (:func:`.xp.namespace`): NumPy or ``jax.numpy``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.xp import namespace

Array = NDArray[np.float64]


def monthly_rate_from_annual(p_annual: Array) -> Array:
    """Constant monthly rate whose 12-month probability is ``p_annual``."""
    xp = namespace(p_annual)
    return -xp.log1p(-xp.minimum(p_annual, 1.0 - 1e-12)) / 12.0


def probability(rate: Array) -> Array:
    """Monthly probability of an event with the given rate."""
    return -namespace(rate).expm1(-rate)


def state_log_hazard(
    casualty_ratio: Array,
    pain: Array,
    stability_loss: Array,
    casualty_hazard: Array,
    pain_hazard: Array,
    instability_hazard: Array,
) -> Array:
    """The part of the log-hazard that the war's state moves."""
    return casualty_hazard * (casualty_ratio - 1.0) + pain_hazard * pain + instability_hazard * stability_loss


def war_rate(base_rate: Array, state_log: Array) -> Array:
    return base_rate * namespace(base_rate, state_log).exp(state_log)


def peace_base_rate(base_rate: Array, state_log_at_zero_casualties: Array, legitimacy: Array) -> Array:
    """Hazard in peace once the transition shock has passed: the war's legitimacy is gone."""
    xp = namespace(base_rate, state_log_at_zero_casualties, legitimacy)
    return base_rate * xp.exp(state_log_at_zero_casualties + legitimacy)


def transition_shock(shock_total: Array, victory: Array, victory_relief: Array) -> Array:
    """Peak extra monthly hazard after a settlement with victory score ``v``."""
    xp = namespace(shock_total, victory, victory_relief)
    return shock_total * xp.power(xp.clip(1.0 - victory, 0.0, 1.0), victory_relief)
