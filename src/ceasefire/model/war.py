"""The war's state on many paths and one month of its dynamics: the front, forces, economies, stability.

:class:`WarState` is the state of a month (territory held by A, km²; per side manpower in persons,
equipment relative to the start, the equipment storage pool, reserves in the side's budget unit,
stability in [0, 1], economic pain, the month's casualties relative to the start's, cumulative
casualties; the log commodity price). :class:`Setup` holds what the start fixes: the start's losses,
spending and deficit (measured *without* levers, so that a lever's effect shows in pain and in the
casualty ratio), the objectives' bounds, and each side's bias on its own combat power (zero in the
true war, a leader's optimism in the war he imagines).

:func:`step` is the month written once: NumPy runs it in a loop over months, JAX under ``lax.scan``
(:mod:`ceasefire.model.jax`), the explanation with leading axes of variants. :func:`observe` gives
what the leaders read of a state. Each side's block of equations (:mod:`.attrition`,
:mod:`.economy`) is a pure kernel over the arguments' array namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ceasefire.model import attrition, economy
from ceasefire.model.params import SIDES, Array, Pair, Params, other
from ceasefire.model.xp import namespace

# noise columns drawn per path and month
Z_FRONT, Z_INTENSITY, Z_PRICE_A, Z_STAB_A, Z_STAB_B, Z_PRICE_B = range(6)
U_REMOVE_A, U_REMOVE_B, U_AID_A, U_AID_B, U_BREAK, U_RATIFY, U_RESUME_A, U_RESUME_B, U_RENEW_A, U_RENEW_B = range(10)
N_NORMAL, N_UNIFORM = 6, 10


@dataclass(frozen=True)
class WarState:
    """The war's state in one month, one value per path."""

    held: Array
    log_price: Pair[Array]
    funding: Pair[Array]
    """The external money (budget support and military aid) relative to the start's, as renewed."""
    manpower: Pair[Array]
    equipment: Pair[Array]
    storage: Pair[Array]
    reserves: Pair[Array]
    stability: Pair[Array]
    pain: Pair[Array]
    pain_war: Pair[Array]
    """The pain the month would have brought on a war footing: war spending in full, no sanctions relief
    (equal to ``pain`` at war). A leader weighing whether to resume a ceasefire reads it: the war he would
    go back to brings its deficit back at once."""
    casualty_ratio: Pair[Array]
    cum_cas: Pair[Array]


@dataclass(frozen=True)
class Schedule:
    """What changes a war's parameters and politics after its start, per path (:mod:`.timeline`): the
    parameters before levers and events, the levers' intensities and whether each is carried out, and the
    month each event happens."""

    base: Params
    """The parameters as drawn: no lever, no event."""
    intensity: tuple[Array, ...]
    """Each lever's intensity as the run gives it (a number, or one per path)."""
    carried: tuple[Array, ...]
    """Whether each lever is carried out on each path."""
    months: Array
    """``(paths, events)`` the month each event happens on each path (``inf``: not in this war)."""


@dataclass(frozen=True)
class Setup:
    """What the start fixes for a war: its parameters with levers applied, and the start's references."""

    p: Params
    """The parameters, levers applied."""
    c0: Pair[Array]
    """Each side's losses per month at the start, levers applied."""
    c_ref: Pair[Array]
    """The same without levers: the casualty ratio's reference."""
    spend0: Pair[Array]
    deficit0: Pair[Array]
    manpower0: Pair[Array]
    equipment0: Pair[Array]
    obj_bounds: Array
    """``(..., objectives + 1)`` cumulative objective areas, starting with 0."""
    bias: Pair[Array]
    """Log-bias on each side's combat power (a leader's optimism in his imagined war)."""
    schedule: Schedule | None = None
    """What changes after the start (levers starting late, events); ``None`` where nothing does."""


def losses0(p: Params) -> Pair[Array]:
    """Each side's losses per month at the start: A's from its daily rate, B's by the exchange ratio."""
    a = p.attrition.casualties_per_day * attrition.DAYS_PER_MONTH
    return Pair(a, a / p.attrition.exchange_ratio)


def setup(p: Params, reference: Params, bias: Pair[Array] | None = None, schedule: Schedule | None = None) -> Setup:
    """The start of a war with parameters ``p`` (levers applied); ``reference`` are the same without levers;
    ``schedule`` what changes them after the start (:mod:`.timeline`)."""
    xp = namespace(p.territory.area_km2)
    if p.objectives:
        areas = xp.stack(xp.broadcast_arrays(*[o.area_km2 for o in p.objectives]), axis=-1)
    else:
        areas = xp.zeros((*np.shape(p.territory.area_km2), 0))
    zero = xp.zeros((*areas.shape[:-1], 1))
    spend0 = Pair.of(lambda s: _spend0(reference, s))
    deficit0 = Pair.of(lambda s: xp.maximum(spend0[s] - _revenue0(reference, s), 0.0))
    return Setup(
        p=p,
        c0=losses0(p),
        c_ref=losses0(reference),
        spend0=spend0,
        deficit0=deficit0,
        manpower0=Pair.of(lambda s: reference.sides[s].forces.manpower),
        equipment0=Pair.of(lambda s: reference.sides[s].forces.equipment),
        obj_bounds=xp.concatenate([zero, xp.cumsum(areas, axis=-1)], axis=-1),
        bias=bias if bias is not None else Pair(0.0, 0.0),
        schedule=schedule,
    )


def _spend0(p: Params, s: str) -> Array:
    e = p.sides[s].economy
    return e.spending_other + e.spending_war


def _revenue0(p: Params, s: str) -> Array:
    e, f = p.sides[s].economy, p.sides[s].forces
    return e.revenue + e.commodity_revenue * (1.0 - e.sanctions) + f.aid_finance * f.finance_level


def start(w: Setup, paths: int) -> WarState:
    """The state at the start of the war on ``paths`` paths."""
    p = w.p
    xp = namespace(p.territory.held_km2)

    def full(x: Array) -> Array:
        return xp.array(xp.broadcast_to(xp.asarray(x, dtype=xp.float64), (paths,)))  # never a view of a parameter

    def per_side(get: Any) -> Pair[Array]:
        return Pair.of(lambda s: full(get(p.sides[s])))

    return WarState(
        held=full(p.territory.held_km2),
        log_price=Pair(xp.zeros(paths), xp.zeros(paths)),
        funding=Pair(xp.ones(paths), xp.ones(paths)),
        manpower=per_side(lambda sd: sd.forces.manpower),
        equipment=per_side(lambda sd: sd.forces.equipment),
        storage=per_side(lambda sd: sd.forces.equipment_storage),
        reserves=per_side(lambda sd: sd.economy.reserves),
        stability=per_side(lambda sd: sd.stability.initial),
        pain=Pair(xp.zeros(paths), xp.zeros(paths)),
        pain_war=Pair(xp.zeros(paths), xp.zeros(paths)),
        casualty_ratio=Pair(xp.ones(paths), xp.ones(paths)),
        cum_cas=Pair(xp.zeros(paths), xp.zeros(paths)),
    )


def power(w: Setup, x: WarState) -> Pair[Array]:
    """Relative combat power of each side (1 at the start), times ``exp(bias)``:
    ``(M / M0)^a (K / K0)^b`` (:func:`.attrition.combat_power`)."""

    def one(s: str) -> Array:
        f = w.p.sides[s].forces
        xp = namespace(x.manpower[s])
        power = attrition.combat_power(
            x.manpower[s], w.manpower0[s], f.manpower_exponent, x.equipment[s] / w.equipment0[s], f.equipment_exponent
        )
        return power * xp.exp(w.bias[s])

    return Pair.of(one)


def log_ratio(power: Pair[Array], side: str) -> Array:
    """``log(P_side / P_other)``."""
    xp = namespace(power[side])
    rho = power[side] / xp.maximum(power[other(side)], 1e-12)
    return xp.log(xp.maximum(rho, 1e-12))


@dataclass(frozen=True)
class Observed:
    """What the leaders read of a month's state (before its fighting), one value per path."""

    gained: Array
    """Territory A gained since the start, km²."""
    progress: Array
    """``(paths, objectives)`` share of each objective A has taken."""
    power: Pair[Array]
    """Relative combat power, with the world's bias."""
    casualty_ratio: Pair[Array]
    pain: Pair[Array]
    pain_war: Pair[Array]
    """The pain on a war footing (:attr:`WarState.pain_war`)."""
    stability_loss: Pair[Array]
    """The start's stability minus today's."""
    cover: Pair[Array]
    """Months of the start's spending the reserves cover."""


def observe(w: Setup, x: WarState, pw: Pair[Array] | None = None) -> Observed:
    """What the leaders read of the state ``x`` (``pw``: its combat power when already known)."""
    xp = namespace(x.held)
    gained = x.held - w.p.territory.held_km2
    return Observed(
        gained=gained,
        progress=attrition.objective_progress(gained, w.obj_bounds),
        power=power(w, x) if pw is None else pw,
        casualty_ratio=x.casualty_ratio,
        pain=x.pain,
        pain_war=x.pain_war,
        stability_loss=Pair.of(lambda s: w.p.sides[s].stability.initial - x.stability[s]),
        cover=Pair.of(lambda s: x.reserves[s] / xp.maximum(w.spend0[s], 1e-12)),
    )


def step(
    w: Setup,
    x: WarState,
    z: Array,
    u: Array,
    war: Array,
    relief: Array,
    pw: Pair[Array] | None = None,
    since: Array | float = 0.0,
) -> WarState:
    """One month: fight where ``war``, then run both economies.

    ``z`` are the month's normals and ``u`` its uniforms, ``(paths, columns)`` in the columns named above;
    ``relief`` the share of sanctions lifted (peace on terms that lift them); ``pw`` the state's combat
    power when already known (:func:`power`); ``since`` the months since a settlement in force was
    signed (where at peace: war spending falls to its peace share with the demobilisation's time
    constant). In peace forces rebuild (recruits, production, restoration, aid) with no losses.
    """
    p = w.p
    xp = namespace(x.held)
    pw = power(w, x) if pw is None else pw
    rho = pw.A / xp.maximum(pw.B, 1e-12)
    intensity = xp.where(war, attrition.intensity_factor(z[:, Z_INTENSITY], p.attrition.intensity_sd), 0.0)
    aid_flow = Pair.of(lambda s: u[:, U_AID_A + SIDES.index(s)] < p.sides[s].forces.aid_reliability)
    t = p.territory
    gain = attrition.front_change(t.gain_km2_per_month, rho, t.power_elasticity, t.gain_sd_km2, z[:, Z_FRONT])
    held = xp.where(war, xp.clip(x.held + gain, -t.other_area_km2, t.area_km2), x.held)
    fought = {s: _fight(w, x, s, pw[other(s)], intensity, aid_flow[s]) for s in SIDES}

    def price(s: str) -> Array:
        e, column = p.sides[s].economy, Z_PRICE_A if s == "A" else Z_PRICE_B
        return economy.log_price_step(x.log_price[s], e.commodity_reversion, e.commodity_volatility, z[:, column])

    log_price = Pair.of(price)
    money = {
        s: _economy(w, x, s, fought[s]["casualty_ratio"], xp.exp(log_price[s]), aid_flow[s], war, relief, z, since)
        for s in SIDES
    }

    # each side's new state variables, named as the state's fields
    moved = {name: Pair(table["A"][name], table["B"][name]) for table in (fought, money) for name in table["A"]}
    return replace(x, held=held, log_price=log_price, **moved)


def renew(every: Pair[int], first: Pair[int], w: Setup, x: WarState, u: Array, t: Any) -> WarState:
    """The decisions on each side's external money due in month ``t``: cut, raised, or renewed as is
    (``every``, ``first``: the schedule, from the structure)."""
    xp = namespace(x.held)

    def one(s: str) -> Array:
        if every[s] <= 0:
            return x.funding[s]
        due = (t >= first[s]) & ((t - first[s]) % every[s] == 0)
        r = w.p.sides[s].renewal
        draw = u[:, U_RENEW_A + SIDES.index(s)]
        factor = xp.where(draw < r.cut, r.cut_to, xp.where(draw < r.cut + r.raised, r.raise_to, 1.0))
        return xp.where(due, x.funding[s] * factor, x.funding[s])

    return replace(x, funding=Pair.of(one))


def _fight(w: Setup, x: WarState, s: str, enemy_power: Array, intensity: Array, aid_flow: Array) -> dict[str, Array]:
    """A side's month of fighting (``intensity`` zero in peace): losses, manpower, equipment. In peace the
    force rebuilds: recruits and separations, production, restoration from storage and aid, no losses."""
    p, f = w.p, w.p.sides[s].forces
    xp = namespace(x.held)
    q = p.attrition.fire_exponent
    losses = attrition.expected_losses(w.c0[s], enemy_power, q) * intensity
    recruits = f.recruitment * xp.exp(-f.recruitment_pain_elasticity * x.pain[s])
    grown = x.manpower[s] * (1.0 - f.separation) - f.permanent_loss_share * losses + recruits
    new_k, new_pool = attrition.equipment_step(
        x.equipment[s],
        x.storage[s],
        f.equipment_loss,
        enemy_power,
        q,
        intensity,
        f.equipment_production,
        f.equipment_restoration,
        f.aid_equipment * f.aid_level * x.funding[s] * aid_flow,
    )
    return {
        "cum_cas": x.cum_cas[s] + losses,
        "casualty_ratio": losses / w.c_ref[s],
        "manpower": xp.maximum(grown, 1.0),
        "equipment": new_k,
        "storage": new_pool,
    }


def _economy(
    w: Setup,
    x: WarState,
    s: str,
    casualty_ratio: Array,
    price: Array,
    aid_flow: Array,
    war: Array,
    relief: Array,
    z: Array,
    since: Array | float,
) -> dict[str, Array]:
    """A side's treasury, pain and stability over the month (:mod:`.economy`)."""
    e, f, st = w.p.sides[s].economy, w.p.sides[s].forces, w.p.sides[s].stability
    xp = namespace(x.held)
    commodity = e.commodity_revenue * price * (1.0 - e.sanctions * (1.0 - relief))
    finance = f.aid_finance * f.finance_level * x.funding[s] * aid_flow
    revenue = e.revenue + commodity + finance
    tau = e.demobilization_months
    fading = xp.where(tau > 0.0, xp.exp(-since / xp.maximum(tau, 1e-12)), 0.0)
    peace_share = e.peace_war_spending + (1.0 - e.peace_war_spending) * fading
    spending = e.spending_other + e.spending_war * xp.where(war, 1.0, peace_share)
    reserves, deficit, exhausted = economy.treasury_step(x.reserves[s], revenue, spending, e.reserve_share)
    pain = economy.economic_pain(deficit, w.deficit0[s], exhausted, w.spend0[s], e.exhaustion_pain)
    war_revenue = revenue - e.commodity_revenue * price * e.sanctions * relief
    _, war_deficit, war_exhausted = economy.treasury_step(
        x.reserves[s], war_revenue, e.spending_other + e.spending_war, e.reserve_share
    )
    pain_war = xp.where(
        war, pain, economy.economic_pain(war_deficit, w.deficit0[s], war_exhausted, w.spend0[s], e.exhaustion_pain)
    )
    stability = economy.stability_step(
        x.stability[s],
        st.initial,
        st.recovery,
        pain,
        st.pain_sensitivity,
        xp.maximum(casualty_ratio - 1.0, 0.0),
        st.casualty_sensitivity,
        st.noise_sd,
        z[:, Z_STAB_A + SIDES.index(s)],
    )
    return {"reserves": reserves, "pain": pain, "pain_war": pain_war, "stability": stability}
