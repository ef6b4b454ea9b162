"""Pure array kernels of the model in ``jax.numpy``: attrition, economy, hazard, leader values, bargaining.

Each function is a line-by-line port of its NumPy twin (named in its docstring), with the same
formula, units and argument order; see those modules for the model's meaning and references.
Arguments broadcast: a per-sample parameter is a scalar, a per-path one an array ``(paths,)``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

PEACE_SERIES_TERMS = 400
"""Most terms of the series summed term by term (:func:`peace_value_by_terms`; as in ``leader.peace_value``)."""


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


PeaceArguments = tuple[Array, Array, Array, Array, Array]
"""``(base_rate, shock, shock_months, punishment, delta)``, the arguments of :func:`peace_value`."""


def peace_value(
    base_rate: Array,
    shock: Array,
    shock_months: Array,
    punishment: Array,
    delta: Array,
    axis_name: str | None = None,
    tol: float = 1e-12,
) -> Array:
    """Value of signing now: the closed-form series of ``leader.peace_value``,
    ``V = exp(-A) sum_n A^n / n! [G_n (1 - lambda0 Pi) - J Pi G_{n+1}]`` with ``A = J / (1 - q)``.

    Where ``A <= PEACE_HORNER_AMPLITUDE`` (every value of the flagship: its ``A`` is at most about
    0.6) the series is a polynomial of fixed degree :data:`PEACE_DEGREE` in ``A``, evaluated by
    Horner's rule with coefficients per path (:func:`peace_coefficients`): a fixed sequence of
    elementwise operations that XLA fuses with the rest of the month. As ``0 < G_n <= G_0``, its
    truncation error is at most ``G_0 (|1 - lambda0 Pi| + |J Pi|) exp(-A) peace_truncation_bound(A)``,
    below ``1.7e-16`` times the size of the summed terms. A larger ``A`` is summed term by term as in
    NumPy (:func:`peace_value_by_terms`), in a branch taken only when some element needs it.

    The per-path arguments (``base_rate``, ``shock_months``, ``delta``) may be shaped ``(paths, 1)``
    against ``(paths, terms)`` for the others: the coefficients are then computed once per path.
    Each element's value depends on its own arguments alone, not on the rest of the batch. Under
    ``jax.vmap(..., axis_name=axis_name)`` pass the axis' name: the branch is then decided once for
    the whole batch (a real branch, not both sides computed).
    """
    return peace_values([(base_rate, shock, shock_months, punishment, delta)], axis_name, tol)[0]


def peace_values(arguments: list[PeaceArguments], axis_name: str | None = None, tol: float = 1e-12) -> list[Array]:
    """:func:`peace_value` of several argument sets in one go: one branch for the large amplitudes of
    all of them, and the coefficients computed once for argument sets sharing their per-path arrays."""
    coefficients: dict[tuple[int, int, int], tuple[Array, Array, list[Array], list[Array]]] = {}
    short, large = [], []
    for base_rate, shock, shock_months, punishment, delta in arguments:
        key = (id(base_rate), id(shock_months), id(delta))
        if key not in coefficients:
            q = jnp.exp(-1.0 / shock_months)
            r = delta * jnp.exp(-base_rate)
            coefficients[key] = (q, 1.0 - q, *peace_coefficients(r, q))
        q, one_minus_q, c0, c1 = coefficients[key]
        amp = shock / one_minus_q
        flow_part = 1.0 - base_rate * punishment
        short.append(jnp.exp(-amp) * (flow_part * horner(c0, amp) - shock * punishment * horner(c1, amp)))
        large.append(amp > PEACE_HORNER_AMPLITUDE)
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
            for i in range(5)
        ]
        active = jnp.concatenate([x.ravel() for x in large])
        summed = peace_value_by_terms(flat[0], flat[1], flat[2], flat[3], flat[4], active=active, tol=tol)
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
    punishment: Array,
    delta: Array,
    active: Array | None = None,
    tol: float = 1e-12,
) -> Array:
    """The series of :func:`peace_value` summed term by term, as ``leader.peace_value`` does; only the
    ``active`` elements (all by default; elsewhere 0).

    Each element stops adding terms once its own next term is below ``tol``, so its value does not
    depend on the rest of the batch (a ``lax.while_loop`` runs until every element has stopped: no
    iteration when none is active).
    """
    q = jnp.exp(-1.0 / shock_months)
    amp = shock / (1.0 - q)
    r = delta * jnp.exp(-base_rate)
    shape = jnp.broadcast_shapes(jnp.shape(base_rate), jnp.shape(shock), jnp.shape(q), jnp.shape(punishment))
    shape = jnp.broadcast_shapes(shape, jnp.shape(delta))
    flow_part = jnp.broadcast_to(1.0 - base_rate * punishment, shape)
    shock_cost = jnp.broadcast_to(shock * punishment, shape)
    amp = jnp.broadcast_to(amp, shape)
    q = jnp.broadcast_to(q, shape)
    bound = 1.0 + jnp.abs(flow_part)
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
