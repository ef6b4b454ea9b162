"""One month of the war, written once: decide, fight, leaders, ceasefires.

Every month, in this order:

1. **Decide** (paths at war): each leader values every terms option against fighting on; the war
   ends where some terms are acceptable to both (:mod:`.decision`).
2. **Fight** (paths still at war) and run both **economies** (:func:`.war.step`).
3. **Leaders** may lose office (:mod:`.hazard`); a successor takes over with the person-tied reasons
   partly reset.
4. **Ceasefires** may break down; the war resumes from the state of that moment.

:class:`Politics` is who leads and whether there is war; :class:`Tally` what a run reports of each
path. :func:`month` composes the steps; the NumPy engine (:mod:`.engine`) runs it in a loop over
months, the JAX engine (:mod:`ceasefire.model.jax`) under ``lax.scan``. How a month's decision is
worked out is the caller's (``decide``): every value on every path (JAX, and NumPy when it records
the gains), or NumPy's fast path on the paths at war (:mod:`.screen`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ceasefire.model import bargaining, hazard
from ceasefire.model.decision import Decision
from ceasefire.model.params import SIDES, Array, Pair
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import removal_rates, transition_total
from ceasefire.model.war import U_BREAK, U_REMOVE_A, Observed, Setup, WarState, observe, power, step
from ceasefire.model.xp import namespace


@dataclass(frozen=True)
class Politics:
    """Who leads and whether there is war, per path."""

    at_war: Array
    terms_now: Array
    """The terms in force (-1 at war)."""
    peace_start: Array
    """Month the peace in force was signed (-1 before any)."""
    broken: Array
    """Agreements broken so far, the scenario's prior record included."""
    successor: Pair[Array]
    """The side is led by a successor."""
    victory_now: Pair[Array]
    """The leader's victory score: of the battlefield at war, of the terms signed in peace."""


@dataclass(frozen=True)
class Tally:
    """What a run reports of each path."""

    settlements: Array
    breakdowns: Array
    first_month: Array
    """Month of the first settlement, -1 if none."""
    first_terms: Array
    under_successor: Array
    """The first settlement was signed by a successor (either side)."""
    removed: Pair[Array]
    removal_month: Pair[Array]
    cas_to_settle: Pair[Array]
    held_end: Array
    """km² held by A at the first settlement (NaN until then)."""
    progress_end: Array
    cf_months: Array
    """Months the first ceasefire held."""
    cf_broke: Array
    cf_rate: Array
    """Monthly breakdown probability of the first ceasefire (NaN if none)."""


@dataclass(frozen=True)
class MonthState:
    """The carry of the month loop."""

    war: WarState
    politics: Politics
    tally: Tally


PYTREES: tuple[type, ...] = (Politics, Tally, MonthState)


def begin(w: Setup, st: Structure, paths: int) -> MonthState:
    """Every path at war at the start, led by its incumbents, nothing reported yet."""
    from ceasefire.model.war import start

    xp = namespace(w.p.territory.held_km2)
    minus = xp.full(paths, -1, dtype=xp.int64)
    zeros, no = xp.zeros(paths), xp.zeros(paths, dtype=bool)
    politics = Politics(
        at_war=xp.ones(paths, dtype=bool),
        terms_now=minus,
        peace_start=minus,
        broken=xp.full(paths, float(st.prior_broken)),
        successor=Pair(no, no),
        victory_now=Pair(zeros, zeros),
    )
    tally = Tally(
        settlements=xp.zeros(paths, dtype=xp.int64),
        breakdowns=xp.zeros(paths, dtype=xp.int64),
        first_month=minus,
        first_terms=minus,
        under_successor=no,
        removed=Pair(no, no),
        removal_month=Pair(minus, minus),
        cas_to_settle=Pair(zeros, zeros),
        held_end=xp.full(paths, xp.nan),
        progress_end=xp.full((paths, st.n_objectives), xp.nan),
        cf_months=xp.zeros(paths, dtype=xp.int64),
        cf_broke=no,
        cf_rate=xp.full(paths, xp.nan),
    )
    return MonthState(start(w, paths), politics, tally)


def settle(w: Setup, st: Structure, s: MonthState, obs: Observed, decision: Decision, t: Any) -> tuple[Politics, Tally]:
    """The terms chosen are signed on the paths at war where some are acceptable to both."""
    xp = namespace(s.politics.broken)
    pol, tally, x = s.politics, s.tally, s.war
    signs = pol.at_war & (decision.choice >= 0)
    first = signs & (tally.first_month < 0)
    k = xp.maximum(decision.choice, 0)
    cf = w.p.ceasefire
    rate = bargaining.breakdown_probability(
        cf.breakdown, xp.asarray(st.guarantees)[k], cf.guarantee_factor, cf.record_factor, pol.broken
    )
    victory_now = Pair.of(
        lambda side: xp.where(
            signs, decision.v_chosen[side], xp.where(pol.at_war, decision.v_battle[side], pol.victory_now[side])
        )
    )
    pol = replace(
        pol,
        at_war=pol.at_war & ~signs,
        terms_now=xp.where(signs, decision.choice, pol.terms_now),
        peace_start=xp.where(signs, t, pol.peace_start),
        victory_now=victory_now,
    )
    tally = replace(
        tally,
        settlements=tally.settlements + signs,
        first_month=xp.where(first, t, tally.first_month),
        first_terms=xp.where(first, decision.choice, tally.first_terms),
        under_successor=xp.where(first, s.politics.successor.A | s.politics.successor.B, tally.under_successor),
        cf_rate=xp.where(first, rate, tally.cf_rate),
        cas_to_settle=Pair.of(lambda side: xp.where(first, x.cum_cas[side], tally.cas_to_settle[side])),
        held_end=xp.where(first, x.held, tally.held_end),
        progress_end=xp.where(first[:, None], obs.progress, tally.progress_end),
    )
    return pol, tally


def leaders(w: Setup, x: WarState, pol: Politics, tally: Tally, u: Array, t: Any) -> tuple[Politics, Tally]:
    """Each leader may lose office with his monthly hazard: at war, or in peace with the transition
    shock of the settlement decaying since it was signed; a successor takes over."""
    xp = namespace(pol.broken)
    since = xp.maximum(t - pol.peace_start, 0)
    successor, removed, removal_month = {}, {}, {}
    for i, s in enumerate(SIDES):
        ld = w.p.leaders[s]
        succ = pol.successor[s]
        sloss = w.p.sides[s].stability.initial - x.stability[s]
        war_rate, peace_base = removal_rates(ld, succ, x.casualty_ratio[s], x.pain[s], sloss)
        shock = hazard.transition_shock(transition_total(ld, succ), pol.victory_now[s], ld.victory_relief)
        peace_rate = peace_base + shock * xp.exp(-since / ld.shock_months)
        h = hazard.probability(xp.where(pol.at_war, war_rate, peace_rate))
        out = u[:, U_REMOVE_A + i] < h
        removal_month[s] = xp.where(out & ~tally.removed[s], t, tally.removal_month[s])
        removed[s] = tally.removed[s] | out
        successor[s] = succ | out
    pol = replace(pol, successor=Pair(successor["A"], successor["B"]))
    tally = replace(
        tally, removed=Pair(removed["A"], removed["B"]), removal_month=Pair(removal_month["A"], removal_month["B"])
    )
    return pol, tally


def ceasefires(w: Setup, st: Structure, s: MonthState, u: Array) -> MonthState:
    """Each ceasefire may break down with its monthly probability (guarantees lower it, a record of
    broken agreements raises it, Fortna 2004); the war resumes at the start's intensity."""
    xp = namespace(s.politics.broken)
    pol, tally, x = s.politics, s.tally, s.war
    in_peace = ~pol.at_war
    cf = w.p.ceasefire
    guarantees = xp.asarray(st.guarantees)[xp.maximum(pol.terms_now, 0)]
    p_break = bargaining.breakdown_probability(
        cf.breakdown, guarantees, cf.guarantee_factor, cf.record_factor, pol.broken
    )
    breaks = in_peace & (u[:, U_BREAK] < p_break)
    first_peace = in_peace & (tally.settlements == 1)
    tally = replace(
        tally,
        cf_months=xp.where(first_peace & ~tally.cf_broke, tally.cf_months + 1, tally.cf_months),
        cf_broke=tally.cf_broke | (breaks & (tally.settlements == 1)),
        breakdowns=tally.breakdowns + breaks,
    )
    pol = replace(
        pol,
        at_war=pol.at_war | breaks,
        broken=pol.broken + breaks,
        terms_now=xp.where(breaks, -1, pol.terms_now),
    )
    x = replace(x, casualty_ratio=Pair.of(lambda side: xp.where(breaks, 1.0, x.casualty_ratio[side])))
    return MonthState(x, pol, tally)


Decide = Callable[[MonthState, Observed, Pair[Array], Any], Decision]
"""``decide(state, observed, power, t)``: the month's decision on every path (choice -1 where none;
the values on paths at peace are not read)."""


def month(
    w: Setup, st: Structure, s: MonthState, t: Any, z: Array, u: Array, decide: Decide | None
) -> tuple[MonthState, Decision | None]:
    """One month on every path (``z``, ``u``: its normals and uniforms); ``decide`` is ``None`` where
    settlement is not allowed. Returns the new state and the month's decision."""
    xp = namespace(s.politics.broken)
    pw = power(w, s.war)
    decision = None
    if decide is not None:
        obs = observe(w, s.war, pw)
        decision = decide(s, obs, pw, t)
        pol, tally = settle(w, st, s, obs, decision, t)
        s = MonthState(s.war, pol, tally)
    pol = s.politics
    relief = xp.where(pol.at_war, 0.0, xp.asarray(st.sanctions_relief)[xp.maximum(pol.terms_now, 0)])
    x = step(w, s.war, z, u, pol.at_war, relief, pw)
    pol, tally = leaders(w, x, pol, s.tally, u, t)
    return ceasefires(w, st, MonthState(x, pol, tally), u), decision


TRAJECTORIES = (
    "held_km2",
    "casualties_A",
    "casualties_B",
    "at_war",
    "reserves_A",
    "reserves_B",
    "manpower_A",
    "manpower_B",
    "equipment_A",
    "equipment_B",
    "stability_A",
    "stability_B",
)
"""Monthly trajectories a recording run keeps (the start, then the end of every month)."""


def trajectory(s: MonthState) -> dict[str, Array]:
    """The recorded trajectories' values in this state."""
    xp = namespace(s.politics.broken)
    x = s.war
    row = {"held_km2": x.held, "at_war": xp.asarray(s.politics.at_war, dtype=xp.float64)}
    for side in SIDES:
        row[f"casualties_{side}"] = x.cum_cas[side]
        row[f"reserves_{side}"] = x.reserves[side]
        row[f"manpower_{side}"] = x.manpower[side]
        row[f"equipment_{side}"] = x.equipment[side]
        row[f"stability_{side}"] = x.stability[side]
    return {name: row[name] for name in TRAJECTORIES}
