"""One month of the war, written once: decide, fight, leaders, ceasefires.

Every month, in this order:

0. **Events** of the month take effect: the month's parameters are the start's with the levers and
   events in force (:func:`.timeline.at`); a leader an event removes falls, and his successor decides
   from this month (:func:`fall`); a patron an event replaces judges the terms by his successor's
   calculus (:mod:`.patrons`).
1. **Decide** (paths at war): each leader values every terms option against fighting on; where some
   are acceptable to both, talks open on the best (:mod:`.decision`). Talks run for the negotiation's
   lag while the fighting goes on; either leader walks away when the terms stop being acceptable to
   him. At the lag's end the terms are signed, where a vote (a referendum, a parliament) is needed only
   if it passes; a failed vote takes them off the table for some months. Terms may remove a leader.
2. **Fight** (paths still at war) and run both **economies** (:func:`.war.step`); in peace forces
   rebuild and war spending falls to its peace share. Decisions on external money fall due.
3. **Leaders** may lose office (:mod:`.hazard`); a successor takes over with the person-tied reasons
   partly reset. In peace the public's rejection of the terms signed raises the signer's hazard.
4. **Ceasefires** may break down: a background hazard, highest early, and each leader's choice to
   resume (:func:`.decision.resume_probability`); the war resumes from the state of that moment.

:class:`Politics` is who leads, whether there is war, and the talks; :class:`Tally` what a run reports
of each path. :func:`month` composes the steps; the NumPy engine (:mod:`.engine`) runs it in a loop over
months, the JAX engine (:mod:`ceasefire.model.jax`) under ``lax.scan``. How a month's decisions are
worked out is the caller's (``decide``, ``resume``): every value on every path (JAX, and NumPy when it
records the gains), or NumPy's fast path on the paths concerned (:mod:`.screen`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ceasefire.model import bargaining, hazard, patrons, timeline
from ceasefire.model.decision import Decision
from ceasefire.model.params import SIDES, Array, Pair
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import removal_rates, transition_total
from ceasefire.model.war import (
    U_BREAK,
    U_RATIFY,
    U_REMOVE_A,
    U_RESUME_A,
    Observed,
    Setup,
    WarState,
    observe,
    power,
    renew,
    start,
    step,
)
from ceasefire.model.xp import namespace, ndtr, pick


@dataclass(frozen=True)
class Politics:
    """Who leads, whether there is war, and the talks, per path."""

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
    attainment_now: Pair[Array]
    """His aims' attainment under the terms in force (in peace)."""
    audience: Pair[Array]
    """The log-hazard the leader in office carries for the terms he signed that his public rejects (an
    audience cost: lasting, at war or in peace, until he leaves office; 0 for a leader who signed none)."""
    talks: Array
    """The terms under negotiation (-1: none)."""
    talks_since: Array
    """Month the talks opened."""
    blocked_until: Array
    """``(paths, terms)``: first month each terms option is back on the table after a failed vote."""


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
    cf_broken_by: Array
    """Who broke the first ceasefire: 0 the background hazard, 1 A's leader, 2 B's, -1 not broken."""
    cf_rate: Array
    """Monthly background breakdown probability of the first ceasefire at signing (NaN if none)."""
    power_end: Pair[Array]
    """Each side's combat power (1 at the start) at the first settlement (NaN until then)."""
    reserves_end: Pair[Array]
    """Each side's reserves at the first settlement (NaN until then)."""
    talks_opened: Array
    """Talks opened (each time both accepted terms)."""
    votes_failed: Array


@dataclass(frozen=True)
class MonthState:
    """The carry of the month loop."""

    war: WarState
    politics: Politics
    tally: Tally


def begin(w: Setup, st: Structure, paths: int) -> MonthState:
    """Every path at war at the start, led by its incumbents, nothing reported yet."""
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
        attainment_now=Pair(zeros, zeros),
        audience=Pair(zeros, zeros),
        talks=minus,
        talks_since=minus,
        blocked_until=xp.zeros((paths, len(st.terms)), dtype=xp.int64),
    )
    counts = xp.zeros(paths, dtype=xp.int64)
    tally = Tally(
        settlements=counts,
        breakdowns=counts,
        first_month=minus,
        first_terms=minus,
        under_successor=no,
        removed=Pair(no, no),
        removal_month=Pair(minus, minus),
        cas_to_settle=Pair(zeros, zeros),
        held_end=xp.full(paths, xp.nan),
        progress_end=xp.full((paths, st.n_objectives), xp.nan),
        cf_months=counts,
        cf_broke=no,
        cf_broken_by=minus,
        cf_rate=xp.full(paths, xp.nan),
        power_end=Pair(xp.full(paths, xp.nan), xp.full(paths, xp.nan)),
        reserves_end=Pair(xp.full(paths, xp.nan), xp.full(paths, xp.nan)),
        talks_opened=counts,
        votes_failed=counts,
    )
    return MonthState(start(w, paths), politics, tally)


def available(st: Structure, pol: Politics, t: Any) -> Array:
    """``(paths, terms)``: the terms on the table in month ``t`` (from their month, and not blocked)."""
    xp = namespace(pol.blocked_until)
    return (xp.asarray(st.available_from) <= t)[None, :] & (pol.blocked_until <= t)


def on_table(w: Setup, st: Structure, pol: Politics, progress: Array, t: Any) -> Array:
    """``(paths, terms)``: the terms on the table in month ``t`` (:func:`available`) that no patron vetoes
    at the objectives' ``progress`` (:func:`.patrons.assent`); ``w`` is the month's setup."""
    table = available(st, pol, t)
    allowed = patrons.assent(w, st, progress, t)
    return table if allowed is None else table & allowed


def fall(w: Setup, st: Structure, pol: Politics, tally: Tally, t: Any) -> tuple[Politics, Tally]:
    """The leaders removed by an event of month ``t`` (the month's setup ``w``): each falls at the start of
    the month, and his successor decides from it on."""
    out = {s: timeline.happens(w, st.removing(s), t) for s in SIDES}
    return _removed(pol, tally, out, t, reset_audience=False)


def _removed(
    pol: Politics, tally: Tally, out: dict[str, Array | None], t: Any, reset_audience: bool
) -> tuple[Politics, Tally]:
    """The leaders removed in month ``t`` recorded (``out``: per side, ``None`` where none can be): a
    successor takes over, with no audience cost of his own where ``reset_audience``."""
    xp = namespace(pol.broken)
    successor, audience = dict(pol.successor.items()), dict(pol.audience.items())
    removed, removal_month = dict(tally.removed.items()), dict(tally.removal_month.items())
    for s in SIDES:
        o = out[s]
        if o is None:
            continue
        removal_month[s] = xp.where(o & ~tally.removed[s], t, tally.removal_month[s])
        removed[s] = tally.removed[s] | o
        successor[s] = pol.successor[s] | o
        if reset_audience:
            audience[s] = xp.where(o, 0.0, pol.audience[s])
    pol = replace(pol, successor=Pair(**successor), audience=Pair(**audience))
    return pol, replace(tally, removed=Pair(**removed), removal_month=Pair(**removal_month))


def background_breakdown(w: Setup, st: Structure, terms: Array, since: Array, broken: Array) -> Array:
    """The monthly background probability that a ceasefire on ``terms`` signed ``since`` months ago breaks
    down (spoilers, accidents): ``g (b_inf + (b_0 - b_inf) exp(-since / fragility))``, ``g`` the guarantees'
    and the record's factor (Fortna 2004)."""
    xp = namespace(since)
    cf = w.p.ceasefire
    fading = cf.breakdown + (cf.breakdown_early - cf.breakdown) * xp.exp(-since / cf.fragility_months)
    guarantees = xp.asarray(st.guarantees)[xp.maximum(terms, 0)]
    return bargaining.breakdown_probability(fading, guarantees, cf.guarantee_factor, cf.record_factor, broken)


def settle(
    w: Setup, st: Structure, s: MonthState, obs: Observed, decision: Decision, t: Any, u: Array
) -> tuple[Politics, Tally]:
    """Talks open, go on, break off or end in a signing (where a needed vote passes) on the paths at war."""
    xp = namespace(s.politics.broken)
    pol, tally, x = s.politics, s.tally, s.war
    k_talks = xp.maximum(pol.talks, 0)
    still = (pol.talks >= 0) & xp.take_along_axis(decision.acceptable, k_talks[:, None], axis=1)[:, 0]
    opened = pol.at_war & ~still & (decision.choice >= 0)
    talks = xp.where(still, pol.talks, xp.where(opened, decision.choice, -1))
    since = xp.where(still, pol.talks_since, t)
    k = xp.maximum(talks, 0)
    ready = pol.at_war & (talks >= 0) & (t - since >= w.p.ceasefire.negotiation_months)
    passes = u[:, U_RATIFY] < _vote_passes(w, st, k)
    signs = ready & passes
    failed = ready & ~passes
    first = signs & (tally.first_month < 0)
    rate = background_breakdown(w, st, k, xp.zeros_like(pol.broken), pol.broken)
    blocked_for = xp.asarray(st.ratify_blocked)[k]
    block = failed[:, None] & (xp.arange(len(st.terms))[None, :] == k[:, None])
    removes = Pair.of(lambda side: signs & xp.asarray(st.removes_leader[side])[k])
    rejected = Pair.of(lambda side: pick([terms.rejected[side] for terms in w.p.terms], k) if w.p.terms else 0.0)

    def chosen(table: Pair[Array], side: str) -> Array:
        return xp.take_along_axis(table[side], k[:, None], axis=1)[:, 0]

    def victory_now(side: str) -> Array:
        at_war = xp.where(pol.at_war, decision.v_battle[side], pol.victory_now[side])
        return xp.where(signs, chosen(decision.victory, side), at_war)

    def audience(side: str) -> Array:
        signed = xp.maximum(pol.audience[side], w.p.leaders[side].audience_hazard * rejected[side])
        return xp.where(signs, signed, pol.audience[side])

    pol = replace(
        pol,
        at_war=pol.at_war & ~signs,
        terms_now=xp.where(signs, talks, pol.terms_now),
        peace_start=xp.where(signs, t, pol.peace_start),
        victory_now=Pair.of(victory_now),
        attainment_now=Pair.of(
            lambda side: xp.where(signs, chosen(decision.attainment, side), pol.attainment_now[side])
        ),
        audience=Pair.of(audience),
        talks=xp.where(signs | failed, -1, talks),
        talks_since=since,
        blocked_until=xp.where(block, t + 1 + blocked_for[:, None], pol.blocked_until),
    )
    tally = replace(
        tally,
        settlements=tally.settlements + signs,
        first_month=xp.where(first, t, tally.first_month),
        first_terms=xp.where(first, talks, tally.first_terms),
        under_successor=xp.where(first, s.politics.successor.A | s.politics.successor.B, tally.under_successor),
        cf_rate=xp.where(first, rate, tally.cf_rate),
        cas_to_settle=Pair.of(lambda side: xp.where(first, x.cum_cas[side], tally.cas_to_settle[side])),
        held_end=xp.where(first, x.held, tally.held_end),
        progress_end=xp.where(first[:, None], obs.progress, tally.progress_end),
        power_end=Pair.of(lambda side: xp.where(first, obs.power[side], tally.power_end[side])),
        reserves_end=Pair.of(lambda side: xp.where(first, x.reserves[side], tally.reserves_end[side])),
        talks_opened=tally.talks_opened + opened,
        votes_failed=tally.votes_failed + failed,
    )
    return _removed(pol, tally, dict(removes.items()), t, reset_audience=True)  # terms that remove a leader


def _vote_passes(w: Setup, st: Structure, k: Array) -> Array:
    """The probability that terms ``k`` pass the vote they need (1 where none): ``Phi((support -
    threshold) / error)``, the support the share of the voting side's public that does not reject them."""
    xp = namespace(k)
    side = xp.asarray(st.ratified_by)[k]
    if not w.p.terms:
        return xp.ones(k.shape)
    rejected = Pair.of(lambda s: pick([terms.rejected[s] for terms in w.p.terms], k))
    support = 1.0 - xp.where(side == 1, rejected.B, rejected.A)
    threshold = xp.asarray(st.ratify_threshold)[k]
    error = xp.asarray(st.ratify_error)[k]
    return xp.where(side >= 0, ndtr((support - threshold) / error), 1.0)


def leaders(w: Setup, x: WarState, pol: Politics, tally: Tally, u: Array, t: Any) -> tuple[Politics, Tally]:
    """Each leader may lose office with his monthly hazard: at war, or in peace with the transition
    shock of the settlement decaying since it was signed; the audience cost of terms he signed raises
    the rest (:attr:`Politics.audience`). A successor takes over, with no audience cost of his own."""
    xp = namespace(pol.broken)
    since = xp.maximum(t - pol.peace_start, 0)
    out = {}
    for i, s in enumerate(SIDES):
        ld = w.p.leaders[s]
        succ = pol.successor[s]
        sloss = w.p.sides[s].stability.initial - x.stability[s]
        war_rate, peace_base = removal_rates(ld, succ, x.casualty_ratio[s], x.pain[s], sloss)
        shock = hazard.transition_shock(transition_total(ld, succ), pol.victory_now[s], ld.victory_relief)
        lost_support = xp.exp(pol.audience[s])
        peace_rate = peace_base * lost_support + shock * xp.exp(-since / ld.shock_months)
        h = hazard.probability(xp.where(pol.at_war, war_rate * lost_support, peace_rate))
        out[s] = u[:, U_REMOVE_A + i] < h
    return _removed(pol, tally, out, t, reset_audience=True)


def ceasefires(w: Setup, st: Structure, s: MonthState, u: Array, t: Any, resume: Pair[Array] | None) -> MonthState:
    """Each ceasefire may break down: the background hazard (:func:`background_breakdown`) or a leader's
    choice to resume (``resume``: each leader's probability, :func:`.decision.resume_probability`); the
    war resumes at the start's intensity, not at peace's zero."""
    xp = namespace(s.politics.broken)
    pol, tally, x = s.politics, s.tally, s.war
    in_peace = ~pol.at_war
    since = xp.maximum(t - pol.peace_start, 0)
    background = u[:, U_BREAK] < background_breakdown(w, st, pol.terms_now, since, pol.broken)
    by_a = by_b = xp.zeros_like(in_peace)
    if resume is not None:
        by_a, by_b = u[:, U_RESUME_A] < resume.A, u[:, U_RESUME_A + 1] < resume.B
    breaks = in_peace & (background | by_a | by_b)
    first_peace = in_peace & (tally.settlements == 1)
    first_break = breaks & (tally.settlements == 1) & ~tally.cf_broke
    who = xp.where(by_a, 1, xp.where(by_b, 2, 0))
    tally = replace(
        tally,
        cf_months=xp.where(first_peace & ~tally.cf_broke, tally.cf_months + 1, tally.cf_months),
        cf_broke=tally.cf_broke | first_break,
        cf_broken_by=xp.where(first_break, who, tally.cf_broken_by),
        breakdowns=tally.breakdowns + breaks,
    )
    pol = replace(
        pol, at_war=pol.at_war | breaks, broken=pol.broken + breaks, terms_now=xp.where(breaks, -1, pol.terms_now)
    )
    x = replace(x, casualty_ratio=Pair.of(lambda side: xp.where(breaks, 1.0, x.casualty_ratio[side])))
    return MonthState(x, pol, tally)


Decide = Callable[[Setup, MonthState, Observed, Pair[Array], Any], Decision]
"""``decide(setup, state, observed, power, t)``: the month's decision on every path (choice -1 where none;
the values on paths at peace are not read), ``setup`` the month's (:func:`.timeline.at`)."""

Resume = Callable[[Setup, MonthState, Observed, Any], Pair[Array]]
"""``resume(setup, state, observed, t)``: each leader's probability of breaking the ceasefire in force on
every path (not read at war), ``setup`` the month's."""


def month(
    w: Setup,
    st: Structure,
    s: MonthState,
    t: Any,
    z: Array,
    u: Array,
    decide: Decide | None,
    resume: Resume | None = None,
) -> tuple[MonthState, Decision | None]:
    """One month on every path (``z``, ``u``: its normals and uniforms); ``w`` is the war's start, from
    which the month's parameters are derived (:func:`.timeline.at`); ``decide`` is ``None`` where
    settlement is not allowed, ``resume`` where no leader breaks a ceasefire by choice. Returns the new
    state and the month's decision."""
    xp = namespace(s.politics.broken)
    w = timeline.at(w, st, t)
    if st.removing("A") or st.removing("B"):
        pol, tally = fall(w, st, s.politics, s.tally, t)
        s = MonthState(s.war, pol, tally)
    pw = power(w, s.war)
    decision = None
    if decide is not None:
        obs = observe(w, s.war, pw)
        decision = decide(w, MonthState(s.war, s.politics, s.tally), obs, pw, t)
        pol, tally = settle(w, st, s, obs, decision, t, u)
        s = MonthState(s.war, pol, tally)
    pol = s.politics
    relief = xp.where(pol.at_war, 0.0, xp.asarray(st.sanctions_relief)[xp.maximum(pol.terms_now, 0)])
    since = xp.maximum(t - pol.peace_start, 0)
    x = step(w, s.war, z, u, pol.at_war, relief, pw, since)
    x = renew(st.renewal_every, st.renewal_first, w, x, u, t)
    pol, tally = leaders(w, x, pol, s.tally, u, t)
    s = MonthState(x, pol, tally)
    chance = None if resume is None else resume(w, s, observe(w, x), t)
    return ceasefires(w, st, s, u, t, chance), decision


_STOCKS = ("reserves", "manpower", "equipment", "stability")
TRAJECTORIES = ("held_km2", "casualties_A", "casualties_B", "at_war", *(f"{q}_{s}" for q in _STOCKS for s in SIDES))
"""Monthly trajectories a recording run keeps (the start, then the end of every month)."""


def trajectory(s: MonthState) -> dict[str, Array]:
    """The recorded trajectories' values in this state."""
    xp = namespace(s.politics.broken)
    x = s.war
    row = {"held_km2": x.held, "at_war": xp.asarray(s.politics.at_war, dtype=xp.float64)}
    for side in SIDES:
        row[f"casualties_{side}"] = x.cum_cas[side]
        for q in _STOCKS:
            row[f"{q}_{side}"] = getattr(x, q)[side]
    return {name: row[name] for name in TRAJECTORIES}
