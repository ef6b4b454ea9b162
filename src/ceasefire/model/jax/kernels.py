"""Pure array kernels of the model in ``jax.numpy``: attrition, economy, hazard, leader values, bargaining.

Each function is a line-by-line port of its NumPy twin (named in its docstring), with the same
formula, units and argument order; see those modules for the model's meaning and references.
Arguments broadcast: a per-sample parameter is a scalar, a per-path one an array ``(paths,)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

PEACE_SERIES_TERMS = 400
"""Most terms of the series of :func:`peace_value` (as in :func:`ceasefire.model.leader.peace_value`)."""


# --- attrition (ceasefire.model.attrition) ---------------------------------------------------


def combat_power(manpower: Array, manpower0: Array, a: Array, equipment: Array, b: Array) -> Array:
    """Relative combat power ``(M/M0)^a * (K/K0)^b`` (``attrition.combat_power``)."""
    return jnp.power(jnp.maximum(manpower, 0.0) / manpower0, a) * jnp.power(jnp.maximum(equipment, 0.0), b)


def expected_losses(base: Array, enemy_power: Array, fire_exponent: Array) -> Array:
    """Expected losses per month, ``L0 * P_enemy^q`` (``attrition.expected_losses``)."""
    return base * jnp.power(enemy_power, fire_exponent)


def intensity_factor(z: Array, sd: Array) -> Array:
    """Mean-one log-normal factor of the month's fighting intensity (``attrition.intensity_factor``)."""
    return jnp.exp(sd * z - 0.5 * sd * sd)


def front_change(mean_gain: Array, power_ratio: Array, elasticity: Array, sd: Array, z: Array) -> Array:
    """Monthly change of A's territory, km²: ``Normal(mu * rho^theta, sd)`` (``attrition.front_change``)."""
    return mean_gain * jnp.power(power_ratio, elasticity) + sd * z


def objective_progress(gained: Array, bounds: Array) -> Array:
    """``(paths, k)`` share of each objective taken from the km² gained (``attrition.objective_progress``).

    ``bounds`` are the cumulative objective areas ``(k + 1,)`` or ``(paths, k + 1)``, starting at 0.
    """
    lower = bounds[..., :-1]
    width = bounds[..., 1:] - lower
    return jnp.clip((gained[:, None] - lower) / width, 0.0, 1.0)


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
    """One month of an equipment index: the new stock and storage pool (``attrition.equipment_step``)."""
    lost = stock * jnp.minimum(loss_share * jnp.power(enemy_power, fire_exponent) * intensity, 1.0)
    restored = jnp.minimum(storage, restoration)
    return jnp.maximum(stock - lost + production + restored + delivered, 0.0), storage - restored


# --- economy (ceasefire.model.economy) -------------------------------------------------------


def log_price_step(log_price: Array, reversion: Array, volatility: Array, z: Array) -> Array:
    """Mean-reverting log commodity price relative to the start (``economy.log_price_step``)."""
    return (1.0 - reversion) * log_price + volatility * z


def treasury_step(reserves: Array, revenue: Array, spending: Array, reserve_share: Array) -> tuple[Array, Array, Array]:
    """New reserves, the deficit and whether the reserves are exhausted (``economy.treasury_step``)."""
    balance = revenue - spending
    after = reserves + reserve_share * balance
    deficit = jnp.maximum(-balance, 0.0)
    exhausted = (after <= 0.0) & (deficit > 0.0)
    return jnp.maximum(after, 0.0), deficit, exhausted


def economic_pain(deficit: Array, deficit0: Array, exhausted: Array, spending0: Array, weight: Array) -> Array:
    """Dimensionless economic pain (``economy.economic_pain``)."""
    worse = jnp.maximum(deficit - deficit0, 0.0) / spending0
    return worse + weight * exhausted * deficit / spending0


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
    """Domestic stability in [0, 1] (``economy.stability_step``)."""
    s = stability + recovery * (initial - stability) - pain_sensitivity * pain
    s = s - casualty_sensitivity * casualty_excess + noise_sd * z
    return jnp.clip(s, 0.0, 1.0)


# --- hazard (ceasefire.model.hazard) ---------------------------------------------------------


def monthly_rate_from_annual(p_annual: Array) -> Array:
    """Constant monthly rate whose 12-month probability is ``p_annual``."""
    return -jnp.log1p(-jnp.minimum(p_annual, 1.0 - 1e-12)) / 12.0


def probability(rate: Array) -> Array:
    """Monthly probability of an event with the given rate."""
    return -jnp.expm1(-rate)


def state_log_hazard(
    casualty_ratio: Array, pain: Array, stability_loss: Array, b_casualty: Array, b_pain: Array, b_instability: Array
) -> Array:
    """The part of the leader's log-hazard that the war's state moves (``hazard.state_log_hazard``)."""
    return b_casualty * (casualty_ratio - 1.0) + b_pain * pain + b_instability * stability_loss


def war_rate(base_rate: Array, state_log: Array) -> Array:
    return base_rate * jnp.exp(state_log)


def peace_base_rate(base_rate: Array, state_log_at_zero_casualties: Array, legitimacy: Array) -> Array:
    """Hazard in peace once the transition shock has passed (``hazard.peace_base_rate``)."""
    return base_rate * jnp.exp(state_log_at_zero_casualties + legitimacy)


def transition_shock(shock_total: Array, victory: Array, victory_relief: Array) -> Array:
    """Peak extra monthly hazard after a settlement with victory score ``v`` (``hazard.transition_shock``)."""
    return shock_total * jnp.power(jnp.clip(1.0 - victory, 0.0, 1.0), victory_relief)


# --- a leader's value of office (ceasefire.model.leader) -------------------------------------


def stationary_value(flow: Array, rate: Array, punishment: Array, delta: Array) -> Array:
    """Value (months of office) of a constant flow under a constant removal rate, forever."""
    return (flow - rate * punishment) / (1.0 - delta * jnp.exp(-rate))


def peace_value(
    base_rate: Array, shock: Array, shock_months: Array, punishment: Array, delta: Array, tol: float = 1e-12
) -> Array:
    """Value of signing now: the closed-form series of ``leader.peace_value``.

    Each element stops adding terms once its own remainder is below ``tol``, so its value does not
    depend on the rest of the batch (a ``lax.while_loop`` runs until every element has stopped).
    """
    q = jnp.exp(-1.0 / shock_months)
    amp = shock / (1.0 - q)
    r = delta * jnp.exp(-base_rate)
    shape = jnp.broadcast_shapes(jnp.shape(base_rate), jnp.shape(shock), jnp.shape(q), jnp.shape(punishment))
    shape = jnp.broadcast_shapes(shape, jnp.shape(delta))
    flow_part = jnp.broadcast_to(1.0 - base_rate * punishment, shape)
    shock_cost = jnp.broadcast_to(shock * punishment, shape)
    amp = jnp.broadcast_to(amp, shape)
    bound = 1.0 + jnp.abs(flow_part)
    rq = r * jnp.ones_like(q)
    g_n = 1.0 / (1.0 - rq)
    init: tuple[Array, ...] = (jnp.int32(0), rq, g_n, jnp.zeros(shape), jnp.ones(shape), jnp.ones(shape, dtype=bool))

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


def fight_value(flow: Array, rate: Array, punishment: Array, delta: Array, months: int, continuation: Array) -> Array:
    """Value of fighting ``months`` more at a constant removal rate, then ``continuation``."""
    r = delta * jnp.exp(-rate)
    annuity = jnp.where(jnp.abs(1.0 - r) > 1e-12, (1.0 - jnp.power(r, months)) / (1.0 - r), float(months))
    return (flow - rate * punishment) * annuity + jnp.power(r, months) * continuation


# --- bargaining (ceasefire.model.bargaining, ceasefire.solve.bargaining_range) ---------------


def victory_from_score(
    score: Array, aspiration: Array, concession: Array, concession_offered: Array, ratchet: Array
) -> Array:
    """``v = clip(1 - max(a + kappa C - score - c, 0), 0, 1)`` for ``(paths, terms)`` scores."""
    col = jnp.expand_dims
    shortfall = col(aspiration, -1) + col(ratchet, -1) * col(concession_offered, -1) - score - concession
    return jnp.clip(1.0 - jnp.maximum(shortfall, 0.0), 0.0, 1.0)


def choose_terms(gain_a: Array, gain_b: Array, available: Array) -> Array:
    """Terms chosen on each path, or -1: acceptable to both, largest Nash product of gains."""
    ok = (gain_a >= 0.0) & (gain_b >= 0.0) & available[None, :]
    nash = jnp.where(ok, gain_a * gain_b, -jnp.inf)
    best = jnp.argmax(nash, axis=1)
    return jnp.where(ok.any(axis=1), best, -1)


def breakdown_probability(
    base: Array, guarantees: Array, guarantee_factor: Array, record_factor: Array, broken_before: Array
) -> Array:
    """Monthly probability that a ceasefire breaks down (``bargaining.breakdown_probability``)."""
    p = base * jnp.where(guarantees, guarantee_factor, 1.0) * jnp.power(record_factor, broken_before)
    return jnp.clip(p, 0.0, 1.0)


def reservation_score(values: Array, grid: Array, fight: Array) -> Array:
    """Smallest victory score whose peace value reaches ``fight`` (``bargaining_range.reservation_score``)."""
    ok = values >= fight[:, None]
    first = jnp.argmax(ok, axis=1)
    lo = jnp.maximum(first - 1, 0)
    v_lo = jnp.take_along_axis(values, lo[:, None], axis=1)[:, 0]
    v_hi = jnp.take_along_axis(values, first[:, None], axis=1)[:, 0]
    rising = v_hi > v_lo
    step = jnp.where(rising, (fight - v_lo) / jnp.where(rising, v_hi - v_lo, 1.0), 1.0)
    score = grid[lo] + jnp.clip(step, 0.0, 1.0) * (grid[first] - grid[lo])
    out = jnp.where(ok.any(axis=1), score, jnp.inf)
    out = jnp.where(ok[:, 0], -jnp.inf, out)
    return jnp.where(jnp.isnan(fight), jnp.nan, out)


def bargaining_range(reservation_a: Array, shift_a: Array, reservation_b: Array, shift_b: Array) -> tuple[Array, Array]:
    """The range ``(low, high)`` of A's share of the stake both leaders accept; NaN where there is none."""
    low = jnp.clip(reservation_a + shift_a, 0.0, 1.0)
    high = jnp.clip(1.0 - (reservation_b + shift_b), 0.0, 1.0)
    exists = (reservation_a + shift_a <= 1.0 - (reservation_b + shift_b)) & (low <= high)
    exists = exists & ~(jnp.isnan(reservation_a) | jnp.isnan(reservation_b))
    return jnp.where(exists, low, jnp.nan), jnp.where(exists, high, jnp.nan)
