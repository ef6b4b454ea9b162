"""Forward-looking leaders: the month's decision, and the stopping problem each leader solves.

**The decision** (:func:`decide`). Each month, on the paths at war, each leader values every terms
option on the table against fighting on; the war ends where some terms are acceptable to both, on the
terms with the largest Nash product of the two leaders' gains (:func:`.bargaining.choose_terms`). With
the ``optimal`` policy a leader's value of fighting on is his stopping rule's continuation value at the
regressors of the world he believes in; with the ``myopic`` policy he fights a fixed look-ahead at
today's hazard and then expects the best deal the other side accepts today.

**The stopping problem** (:func:`problem_row`). Leader ``i`` solves an optimal stopping problem on paths
of the war *as he imagines it*: the scenario's model with his own side's combat power multiplied by
``exp(optimism_i)`` (and, if given, the other leader's hazard at war multiplied by
``exp(resolve_doubt_i)``), with no deal. Each month he may stop, on the terms he values most among those
he believes the other leader accepts, or fight on for the month's value ``flow - rate * punishment``,
discounted by ``delta * exp(-rate)``. He believes the other accepts terms worth at least the other's
value of fighting on forever at today's hazard (one level of reasoning about the other). At the horizon
he values fighting on as fighting forever at that month's hazard. An incumbent and a successor value
things differently (the person-tied reasons reset), so each problem is solved for both types on the
same imagined paths; the rules are then applied on the *true* paths, out of sample.

Regressors (the "state" of the stopping problem), per path and month: the value of fighting on forever,
the value of peace at the battlefield's victory score, that score, the log of the believed power ratio,
and the months of spending the reserves cover.

Written once over the array namespace: NumPy, JAX and the explanation (with leading axes of variants)
call these functions; :mod:`.screen` is NumPy's fast path of :func:`decide`, with the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import numpy as np

from ceasefire.model import attrition, bargaining, bargaining_range
from ceasefire.model.backend import Backend
from ceasefire.model.params import (
    SIDES,
    Array,
    Ceasefire,
    Leader,
    Pair,
    Rows,
    TermsParams,
    Territory,
    is_leaf,
    other,
    rows_of,
)
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import (
    Deals,
    Exact,
    TermScores,
    Valuation,
    battle_deals,
    battlefield,
    grid_deals,
    stake_shift,
)
from ceasefire.model.war import Observed, Setup, log_ratio
from ceasefire.model.xp import namespace, sigmoid

N_FEATURES = 5
RIDGE = 1e-3
"""Ridge on the standardized regressors: 21 columns fitted on a few hundred paths per sample."""

POLICIES = ("optimal", "myopic")
"""Decision rules: ``optimal`` (least-squares Monte Carlo stopping); ``myopic`` (fight a fixed
look-ahead at today's hazard, then take the best deal the other side accepts today)."""

RANGE_GRID = np.linspace(0.0, 1.0, 9)
"""Victory scores at which peace is valued to find each leader's reservation score."""


class FightOn(Protocol):
    """A leader's fitted rule: his continuation value at month ``t`` on some paths, from their regressors
    ``(paths, 5)``, whether each is led by a successor, and each path's sample."""

    def __call__(self, side: str, t: Any, feats: Array, successor: Array, sample: Array) -> Array: ...


@dataclass(frozen=True)
class Situation:
    """What a decision reads on its paths: the leaders' parameters, who leads, the state as observed,
    the front's parameters (the myopic leader projects it), each leader's optimism, each path's sample,
    the terms' and the ceasefire's parameters and the agreements broken so far."""

    leaders: Pair[Leader]
    successor: Pair[Array]
    obs: Observed
    territory: Territory
    obj_bounds: Array
    optimism: Pair[Array]
    sample: Array
    terms: tuple[TermsParams, ...]
    cease: Ceasefire
    broken: Array
    available: Array
    """``(paths, terms)`` the terms on the table (not before their month, nor while blocked by a failed vote)."""


def situation_of(
    w: Setup, successor: Pair[Array], broken: Array, obs: Observed, optimism: Pair[Array], sample: Array, table: Array
) -> Situation:
    """What a decision reads in the war's month ``w`` (its setup), who leads, the agreements broken so far,
    the state as observed, each leader's optimism, each path's sample and the terms on the table."""
    p = w.p
    return Situation(p.leaders, successor, obs, p.territory, w.obj_bounds, optimism, sample, p.terms, p.ceasefire,
                     broken, table)  # fmt: skip


def narrowed(sit: Situation, rows: Array) -> Situation:
    """The situation on the paths ``rows`` of its paths (parameters gathered when read, :class:`.params.Rows`)."""

    def one(node: Any) -> Any:
        if isinstance(node, tuple):
            return tuple(one(v) for v in node)
        if isinstance(node, Rows) or not is_leaf(node):
            return rows_of(node, rows)
        return node[rows] if np.ndim(node) else node

    return Situation(*(one(getattr(sit, f.name)) for f in fields(sit)))


@dataclass(frozen=True)
class Decision:
    """The month's decision on its paths: the terms chosen (-1: none), the terms acceptable to both
    ``(paths, terms)``, each leader's victory score and attainment of the battlefield and of every terms
    option, and what is recorded (each leader's gains of every terms option; the bargaining range) where
    asked for."""

    choice: Array
    acceptable: Array
    v_battle: Pair[Array]
    victory: Pair[Array]
    attainment: Pair[Array]
    gains: Pair[Array] | None = None
    range_low: Array | None = None
    range_high: Array | None = None


@dataclass(frozen=True)
class Policy:
    """How the leaders decide: ``optimal`` with their fitted rules (``fight_on``), or ``myopic`` with a
    look-ahead of ``lookahead`` months."""

    name: str
    lookahead: int
    fight_on: FightOn | None = None


def features(val: Valuation, peace_here: Array, v_battle: Array, log_rho: Array, cover: Array) -> Array:
    """``(..., paths, N_FEATURES)`` regressors of a leader's continuation value (see the module docstring)."""
    xp = namespace(val.stay, peace_here, log_rho)
    return xp.stack(xp.broadcast_arrays(val.stay, peace_here, v_battle, log_rho, cover), axis=-1)


def observed_valuation(
    side: str,
    ld: Leader,
    successor: Array | None,
    obs: Observed,
    v_battle: Array,
    h_battle: Array,
    cease: Ceasefire,
    broken: Array,
    war_log_shift: Array | None = None,
) -> Valuation:
    """:meth:`.valuation.Valuation.of` for ``side``'s leader ``ld`` on the observed state ``obs``."""
    cas, pain, lost = obs.casualty_ratio[side], obs.pain[side], obs.stability_loss[side]
    return Valuation.of(ld, successor, cas, pain, lost, v_battle, h_battle, cease, broken, war_log_shift)


def leaders_values(
    st: Structure, sit: Situation
) -> tuple[dict[str, Valuation], dict[str, Array], dict[str, Array], dict[str, TermScores]]:
    """Each leader's values on the observed state, the battlefield's victory score and attainment
    (:func:`.valuation.battlefield`), and his scores of the terms."""
    vals, battle, held, scores = {}, {}, {}, {}
    progress = sit.obs.progress
    for s in SIDES:
        ld = sit.leaders[s]
        battle[s], held[s] = battlefield(st, s, progress, ld)
        vals[s] = observed_valuation(s, ld, sit.successor[s], sit.obs, battle[s], held[s], sit.cease, sit.broken)
        scores[s] = TermScores(st, s, progress, ld, sit.terms)
    return vals, battle, held, scores


def rule_fight_on(
    policy: Policy, side: str, t: Any, val: Valuation, peace_here: Array, v_battle: Array, sit: Situation
) -> Array:
    """A leader's value of fighting on by his rule, on the paths of ``sit``: the continuation value at the
    regressors of the world he believes in. Months at which his imagined war never offered a deal leave
    no fitted rule: he then values fighting on as fighting forever at today's hazard."""
    if policy.fight_on is None:
        raise ValueError("the optimal policy needs the leaders' fitted rules")
    believed = log_ratio(sit.obs.power, side) + sit.optimism[side]  # with his optimism
    feats = features(val, peace_here, v_battle, believed, sit.obs.cover[side])
    cont = policy.fight_on(side, t, feats, sit.successor[side], sit.sample)
    xp = namespace(cont)
    return xp.where(xp.isnan(cont), val.stay, cont)


def projected_progress(sit: Situation, side: str, lookahead: int) -> Array:
    """``(paths, objectives)`` progress a myopic leader projects ``lookahead`` months ahead: the front
    moving at its expected speed under the power ratio as he believes it (his optimism)."""
    xp = namespace(sit.obs.gained)
    power = sit.obs.power
    rho = power.A / xp.maximum(power.B, 1e-12)
    belief = xp.exp(sit.optimism[side] * (1.0 if side == "A" else -1.0))
    t = sit.territory
    expected_gain = t.gain_km2_per_month * xp.power(rho * belief, t.power_elasticity)
    return attrition.objective_progress(sit.obs.gained + lookahead * expected_gain, sit.obj_bounds)


def myopic_fight_on(
    ev: Exact,
    sit: Situation,
    st: Structure,
    val: Pair[Valuation],
    peace_now: Pair[Array],
    available: Array,
    lookahead: int,
) -> Pair[Array]:
    """A myopic leader's value of fighting on: ``lookahead`` months at today's hazard, then the best deal
    the other side accepts today, valued at the victory score he projects for it
    (:func:`projected_progress`), or else fighting on forever. The other accepts the terms he values at
    least at fighting on so."""
    xp = namespace(peace_now.A)
    fight = Pair.of(lambda s: val[s].fight_terms(lookahead))
    accepts = Pair.of(lambda s: (peace_now[s] >= (fight[s][0] + fight[s][1] * val[s].stay)[:, None]) & available)

    def one(s: str) -> Array:
        later = TermScores(st, s, projected_progress(sit, s, lookahead), sit.leaders[s], sit.terms)
        best_later = ev.best(val[s], accepts[other(s)], later)
        now, then = fight[s]
        return now + then * xp.maximum(val[s].stay, best_later)

    return Pair.of(one)


def decide(
    st: Structure,
    backend: Backend,
    policy: Policy,
    sit: Situation,
    t: Any,
    *,
    ranged: bool = False,
    record: bool = False,
) -> Decision:
    """The month's decision on every path of ``sit`` (all at war), every value worked out.

    ``ranged``: record the bargaining range (Fearon 1995) of the month; ``record``: each leader's gain
    of every terms option. Every value of peace of the month is asked of the backend in one call.
    """
    xp = namespace(sit.obs.gained)
    available = sit.available
    ev = Exact(backend)
    vals, battle, held, scores = leaders_values(st, sit)
    optimal = policy.name == "optimal"
    # the terms on the table, peace on the battlefield's terms (a regressor of the rule), the range's
    # grid: every value of the month asked of the backend at once
    requests = [(vals[s], scores[s].deals()) for s in SIDES]
    requests += [(vals[s], battle_deals(battle[s], held[s])) for s in SIDES] if optimal else []
    grid = xp.asarray(RANGE_GRID)
    if ranged:
        requests += [(vals[s], grid_deals(xp.broadcast_to(grid, (battle[s].shape[0], grid.size)))) for s in SIDES]
    peace = ev.values(requests)
    at_grid = len(requests) - 2
    peace_now = Pair(peace[0], peace[1])
    val = Pair(vals["A"], vals["B"])
    if optimal:
        fight_on = Pair.of(
            lambda s: rule_fight_on(policy, s, t, val[s], peace[2 + SIDES.index(s)][:, 0], battle[s], sit)
        )
    else:
        fight_on = myopic_fight_on(ev, sit, st, val, peace_now, available, policy.lookahead)
    gains = Pair.of(lambda s: peace_now[s] - fight_on[s][:, None])
    low = high = None
    if ranged:
        res = Pair.of(lambda s: bargaining_range.reservation_score(peace[at_grid + SIDES.index(s)], grid, fight_on[s]))
        low, high = bargaining_range.bargaining_range(
            res.A, stake_shift(st, "A", sit.leaders.A), res.B, stake_shift(st, "B", sit.leaders.B)
        )
    choice = bargaining.choose_terms(gains.A, gains.B, available)
    return Decision(
        choice=choice,
        acceptable=(gains.A >= 0.0) & (gains.B >= 0.0) & available,
        v_battle=Pair(battle["A"], battle["B"]),
        victory=Pair.of(lambda s: scores[s].by_paths()),
        attainment=Pair.of(lambda s: scores[s].deals().attainment),
        gains=gains if record else None,
        range_low=low,
        range_high=high,
    )


def resume_probability(
    st: Structure,
    backend: Backend,
    policy: Policy,
    sit: Situation,
    t: Any,
    since: Array,
    terms_now: Array,
    victory_now: Pair[Array],
    attainment_now: Pair[Array],
    audience_now: Pair[Array],
) -> Pair[Array]:
    """Each leader's probability of breaking the ceasefire in force this month, on the paths of ``sit``
    (all at peace on the terms ``terms_now``, signed ``since`` months ago): a logistic choice,
    ``sigmoid((V_war - C_break - V_peace) / s)``.

    ``V_war`` is his value of resuming the war from the state peace has left, at the start's intensity and
    with the war's deficit back (``pain_war``): his rule's continuation value there (the optimal policy),
    or fighting on forever. ``V_peace`` is his
    value of keeping the peace in force: what remains of its transition and of its early fragility,
    the state's pain and instability as they are now. ``C_break`` (``resume_cost``, and
    ``guarantee_cost`` more where the terms carry security guarantees) is what breaking costs him. The
    audience cost of terms he signed (``audience_now``, a log-hazard) weighs on him either way;
    ``s`` (``resume_noise``) the spread of the choice. With ``s = 0`` no leader resumes by choice.
    """
    xp = namespace(since)
    ev = Exact(backend)
    cease = sit.cease
    guaranteed = xp.asarray(st.guarantees)[terms_now]
    cost = cease.resume_cost + cease.guarantee_cost * guaranteed
    ones = xp.ones_like(since)
    optimal = policy.name == "optimal"

    def one(s: str) -> Array:
        ld, obs, successor = sit.leaders[s], sit.obs, sit.successor[s]
        v_battle, h_battle = battlefield(st, s, obs.progress, ld)
        resumed = Valuation.of(
            ld, successor, ones, obs.pain_war[s], obs.stability_loss[s], v_battle, h_battle, cease, sit.broken,
            audience_now[s],
        )  # fmt: skip
        kept = observed_valuation(s, ld, successor, obs, v_battle, h_battle, cease, sit.broken)
        passed = xp.exp(-since / ld.shock_months)  # the transition and the fragility already behind him
        kept = replace(kept, shock_total=kept.shock_total * passed, breakdown_excess=kept.breakdown_excess * passed)
        kept = war_after_breakdown(kept, resumed)
        deals = Deals(
            victory_now[s][:, None], attainment_now[s][:, None], xp.exp(audience_now[s])[:, None], guaranteed[:, None]
        )
        values = ev.values([(kept, deals)] + ([(resumed, battle_deals(v_battle, h_battle))] if optimal else []))
        war = rule_fight_on(policy, s, t, resumed, values[1][:, 0], v_battle, sit) if optimal else resumed.stay
        gap = war - cost - values[0][:, 0]
        noise = cease.resume_noise
        return xp.where(noise > 0.0, sigmoid(gap / xp.maximum(noise, 1e-12)), 0.0)

    return Pair.of(one)


def war_after_breakdown(kept: Valuation, resumed: Valuation) -> Valuation:
    """The value of keeping a peace whose breakdown gives him back his office at the war he would resume.

    ``kept`` is valued at the month's state in peace (casualty ratio 0, no audience cost at war): right
    for the peace's own hazard, but a breakdown does not return him to a war fought at ratio 0; it
    returns him to the war the choice to resume values (``resumed``: the start's intensity, the war's
    deficit back, his audience cost on his war hazard). Valuing the breakdown at the month's state
    made the war a breakdown leads to milder than the one resuming leads to, and so the peace worth
    more against resuming than it is: a bias towards keeping it.
    """
    return replace(kept, stay_office=resumed.stay_office)


# --- the stopping problem on the imagined war ---------------------------------------------------


@dataclass(frozen=True)
class ProblemRow:
    """One month of a leader's stopping problem, for each leader type asked for (lists, one per type):
    regressors ``(..., paths, 5)``, the value of stopping (NaN where no terms are accepted), the month's
    value of fighting on and its discount, the value of fighting on forever; and the other leader's
    hazard at war (his removal decides who the other is next month)."""

    feats: list[Array]
    stop: list[Array]
    flow: list[Array]
    discount: list[Array]
    stay: list[Array]
    rate_other: Array


def problem_row(
    st: Structure,
    ev: Exact,
    side: str,
    obs: Observed,
    leaders: Pair[Leader],
    other_successor: Array,
    t: Any,
    doubt: Array,
    types: Sequence[Array | None],
    terms: Sequence[TermsParams],
    cease: Ceasefire,
    broken: Array,
    table: Array | None = None,
) -> ProblemRow:
    """Month ``t`` of leader ``side``'s stopping problem on his imagined war (``obs``: its state).

    ``other_successor`` marks the paths where the other leader has fallen (he then decides as a
    successor); ``doubt`` is the leader's log-bias on the other's hazard at war; ``types`` the leader's
    own types (``successor`` masks; ``None`` for an incumbent everywhere); ``table`` the terms on the
    table per path ``(paths, terms)`` where a patron's veto takes some off (default: every terms option
    from its month). The leaders' parameters may carry leading axes of variants (the explanation's
    coalitions), broadcast against the paths.
    """
    xp = namespace(obs.gained)
    j = other(side)
    available = xp.asarray(st.available_from) <= t if table is None else table
    v_j, h_j = battlefield(st, j, obs.progress, leaders[j])
    # the doubt raises the other's hazard at war only: his staying power, not his peace
    val_j = observed_valuation(j, leaders[j], other_successor, obs, v_j, h_j, cease, broken, doubt)
    ld = leaders[side]
    v_battle, h_battle = battlefield(st, side, obs.progress, ld)
    vals = [observed_valuation(side, ld, successor, obs, v_battle, h_battle, cease, broken) for successor in types]
    _, here, best = ev.problem_values(
        val_j, TermScores(st, j, obs.progress, leaders[j], terms), available, vals,
        battle_deals(v_battle, h_battle), TermScores(st, side, obs.progress, ld, terms),
    )  # fmt: skip
    log_rho = log_ratio(obs.power, side)
    row = ProblemRow([], [], [], [], [], val_j.rate_war)
    for val, peace_here, best_g in zip(vals, here, best, strict=True):
        row.feats.append(features(val, peace_here, v_battle, log_rho, obs.cover[side]))
        row.stop.append(xp.where(xp.isfinite(best_g), best_g, xp.nan))
        row.flow.append(val.war_cashflow)
        row.discount.append(val.war_discount)
        row.stay.append(val.stay)
    return row
