"""A leader's calculus in one month, for many variants of his parameters at once (pure kernels).

:mod:`ceasefire.model.decision` and :mod:`ceasefire.model.valuation` value one parameter set per
path. Explaining a leader's gap by Shapley values needs the same calculus for every coalition of
factor groups on the *same* paths (common random numbers). Here every value is an array of shape
``(C, m)`` (``C`` parameter variants, ``m = samples * paths`` paths; a parameter that no variant
changes stays ``(1, m)`` and is broadcast, so work that does not depend on the variant is done
once) or ``(C, m, K)`` over the ``K`` terms options.

The war's paths are recorded once per variant of the parameters that move them
(:func:`record_war`); the valuation and the stopping problem are redone per variant
(:func:`stopping_problem`, :func:`month_values`). The formulas are those of
:class:`ceasefire.model.valuation.Valuation` and :func:`ceasefire.model.decision.imagined_paths`
(see ``docs/model.md``); the tests check that both give the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import bargaining, hazard, leader
from ceasefire.model.valuation import TRANSITION_REASONS, Structure, aim_progress
from ceasefire.model.world import PERSON_TIED, U_REMOVE_A, World
from ceasefire.scenario.schema import SIDES
from ceasefire.solve.lsm import PathSet

Array = NDArray[np.float64]
Params = Mapping[str, Array]
"""A leader's parameters keyed relative to ``leaders.<side>.`` (``discount``, ``reasons.militarism``...),
each broadcastable to ``(C, m)``."""

LEADER_KEYS = (
    "discount",
    "base_hazard",
    "casualty_hazard",
    "pain_hazard",
    "instability_hazard",
    "shock_months",
    "victory_relief",
    "punishment_lost_war",
    "aspiration",
    "concession_received",
    "optimism",
    "resolve_doubt",
    "successor.reset",
    "successor.hazard_multiplier",
    *(f"reasons.{r}" for r in (*TRANSITION_REASONS, "legitimacy", "militarism", "opportunism", "punishment")),
)
"""The leader parameters the calculus reads."""


def other(side: str) -> str:
    return "B" if side == "A" else "A"


@dataclass(frozen=True)
class WarRecord:
    """The war fought on without a deal, months ``0 .. T`` on ``m`` paths.

    Arrays have shape ``(T + 1, m)`` (``progress``: ``(T + 1, m, objectives)``); values are read
    at the top of each month, before that month's fighting, as the engine's leaders read them.
    """

    progress: Array
    casualty_ratio: dict[str, Array]
    pain: dict[str, Array]
    stability_loss: dict[str, Array]
    log_rho: dict[str, Array]  # log(P_side / P_other), with the world's power bias
    cover: dict[str, Array]  # months of spending the side's reserves cover

    @property
    def months(self) -> int:
        return int(self.progress.shape[0]) - 1

    def at(self, t: int) -> WarRecord:
        """The record of month ``t`` alone (a one-month record)."""
        one = slice(t, t + 1)
        return WarRecord(
            progress=self.progress[one],
            casualty_ratio={s: v[one] for s, v in self.casualty_ratio.items()},
            pain={s: v[one] for s, v in self.pain.items()},
            stability_loss={s: v[one] for s, v in self.stability_loss.items()},
            log_rho={s: v[one] for s, v in self.log_rho.items()},
            cover={s: v[one] for s, v in self.cover.items()},
        )


def record_war(world: World, z: Array, u: Array, months: int) -> WarRecord:
    """Step ``world`` at war for ``months`` months (normals ``z``, uniforms ``u``, ``(months, m, 5)``)."""
    n = world.n
    war = np.ones(n, dtype=bool)
    no_relief = np.zeros(n)
    rows: dict[str, list[Array]] = {}

    def keep(name: str, value: Array) -> None:
        rows.setdefault(name, []).append(np.array(value, dtype=float))

    for t in range(months + 1):
        keep("progress", world.progress())
        power = world.power()
        for s in SIDES:
            keep(f"cr_{s}", world.casualty_ratio[s])
            keep(f"pain_{s}", world.pain[s])
            keep(f"sloss_{s}", world.sides[s].st["initial"] - world.stability[s])
            rho = power[s] / np.maximum(power[other(s)], 1e-12)
            keep(f"rho_{s}", np.log(np.maximum(rho, 1e-12)))
            keep(f"cover_{s}", world.reserves[s] / np.maximum(world.spend0[s], 1e-12))
        if t == months:
            break
        world.step(z[t], u[t], war, no_relief)
    st = {k: np.stack(v) for k, v in rows.items()}
    return WarRecord(
        progress=st["progress"],
        casualty_ratio={s: st[f"cr_{s}"] for s in SIDES},
        pain={s: st[f"pain_{s}"] for s in SIDES},
        stability_loss={s: st[f"sloss_{s}"] for s in SIDES},
        log_rho={s: st[f"rho_{s}"] for s in SIDES},
        cover={s: st[f"cover_{s}"] for s in SIDES},
    )


@dataclass(frozen=True)
class Scores:
    """Weighted attainment of one leader's aims, per month and path: every terms option and the battlefield."""

    terms: Array  # (T + 1, m, K)
    battle: Array  # (T + 1, m)


def scores(st: Structure, side: str, progress: Array) -> Scores:
    """The leader's aim scores on a record's objective progress ``(T + 1, m, objectives)``."""
    months, m = progress.shape[:2]
    flat = progress.reshape(months * m, -1)
    reached = aim_progress(st, side, flat)
    terms = bargaining.weighted_attainment(st.granted[side], reached, st.aim_lost[side], st.aim_weights[side])
    held = st.aim_lost[side][:, None]
    battle = bargaining.weighted_attainment(held, reached, st.aim_lost[side], st.aim_weights[side])[:, 0]
    return Scores(terms=terms.reshape(months, m, -1), battle=battle.reshape(months, m))


@dataclass(frozen=True)
class MonthValues:
    """One leader's values in one month (shapes ``(C, m)``, ``peace_now`` ``(C, m, K)``)."""

    peace_now: Array
    stay: Array
    peace_battle: Array
    v_battle: Array
    cashflow: Array  # the month's value of fighting on, removal charged at its rate
    discount: Array  # discount times survival to the next month while fighting
    rate_war: Array


def _reason(ld: Params, name: str, successor: NDArray[np.bool_] | None) -> Array:
    value = ld[f"reasons.{name}"]
    if successor is None or name not in PERSON_TIED:
        return value
    return np.where(successor, value * (1.0 - ld["successor.reset"]), value)


def victory_of(score: Array, ld: Params, received_terms: Array, offered_extra: float) -> Array:
    """``v = clip(1 - max(asp + kappa C_off - score - c, 0), 0, 1)`` broadcast over variants.

    ``score`` is ``(m, K)``; ``received_terms`` the concession each option gives beyond the aims
    ``(K,)``; ``offered_extra`` the largest concession on the table (counted in ``C_off``).
    """
    received = ld["concession_received"][..., None]
    offered = received + offered_extra
    shortfall = ld["aspiration"][..., None] + ld["reasons.opportunism"][..., None] * offered - score
    shortfall = shortfall - (received + received_terms)
    return np.clip(1.0 - np.maximum(shortfall, 0.0), 0.0, 1.0)


def peace_parts(
    base_rate: Array, shock: Array, shock_months: Array, delta: Array, tol: float = 1e-13
) -> tuple[Array, Array]:
    """The value of signing now, ``V = S0 - Pi * S1``, split so that the punishment ``Pi`` is applied last.

    The series of :func:`ceasefire.model.leader.peace_value` is linear in ``Pi``::

        S0 = exp(-A) sum_n A^n / n! G_n,    S1 = exp(-A) sum_n A^n / n! (lambda0 G_n + J G_{n+1})

    so variants that differ in the punishment (or the flow at war) share one series. All arguments
    broadcast together; terms are added until every remaining one is below ``tol``.
    """
    q = np.exp(-1.0 / shock_months)
    amp = shock / (1.0 - q)
    shape = np.broadcast_shapes(np.shape(base_rate), np.shape(shock), np.shape(q), np.shape(delta))
    rq = delta * np.exp(-base_rate) * np.ones_like(q)
    g_n = 1.0 / (1.0 - rq)
    s0 = np.zeros(shape)
    s1 = np.zeros(shape)
    weight = np.ones(shape)
    size = 1.0 + np.abs(base_rate) + np.abs(shock)
    for n in range(1, 401):
        rq = rq * q
        g_next = 1.0 / (1.0 - rq)
        s0 += weight * g_n
        s1 += weight * (base_rate * g_n + shock * g_next)
        weight = weight * amp / n
        if float(np.max(weight * np.abs(g_next) * size, initial=0.0)) < tol:
            break
        g_n = g_next
    scale = np.exp(-amp)
    return scale * s0, scale * s1


def month_values(
    ld: Params,
    st: Structure,
    side: str,
    rec: WarRecord,
    sc: Scores,
    t: int,
    successor: NDArray[np.bool_] | None = None,
    war_log_shift: Array | float = 0.0,
) -> MonthValues:
    """A leader's values in month ``t`` of a record (see :class:`ceasefire.model.valuation.Valuation`).

    ``war_log_shift`` is added to his log-hazard at war only (another leader's doubt of his resolve).
    """
    cr, pain, sloss = rec.casualty_ratio[side][t], rec.pain[side][t], rec.stability_loss[side][t]
    rate0 = hazard.monthly_rate_from_annual(ld["base_hazard"])
    if successor is not None:
        rate0 = np.where(successor, rate0 * ld["successor.hazard_multiplier"], rate0)
    slog = hazard.state_log_hazard(cr, pain, sloss, ld["casualty_hazard"], ld["pain_hazard"], ld["instability_hazard"])
    rate_war = hazard.war_rate(rate0, slog + war_log_shift)
    rate_peace = hazard.peace_base_rate(rate0, slog - ld["casualty_hazard"] * cr, _reason(ld, "legitimacy", successor))
    shock_total = sum((_reason(ld, r, successor) for r in TRANSITION_REASONS), np.zeros(1))
    pun = _reason(ld, "punishment", successor)
    lost, delta = ld["punishment_lost_war"], ld["discount"]
    tau, gamma = ld["shock_months"], ld["victory_relief"]
    flow = 1.0 + _reason(ld, "militarism", successor)

    concession = st.concessions(side)
    extra = float(concession.max()) if concession.size else 0.0
    v_now = victory_of(sc.terms[t], ld, concession, extra)
    v_battle = victory_of(sc.battle[t][:, None], ld, np.zeros(1), 0.0)[..., 0]

    pun_war = pun * (1.0 + lost * (1.0 - v_battle))
    stay = leader.stationary_value(flow, rate_war, pun_war, delta)

    lead = np.broadcast_shapes(v_now.shape[:-1], v_battle.shape)
    k = v_now.shape[-1]
    v = np.concatenate([np.broadcast_to(v_now, (*lead, k)), np.broadcast_to(v_battle[..., None], (*lead, 1))], axis=-1)
    shock = hazard.transition_shock(np.asarray(shock_total)[..., None], v, np.asarray(gamma)[..., None])
    s0, s1 = peace_parts(rate_peace[..., None], shock, np.asarray(tau)[..., None], delta[..., None])
    punishment = (pun * (1.0 + lost))[..., None] - (pun * lost)[..., None] * v
    both = s0 - punishment * s1
    shape = np.broadcast_shapes(stay.shape, lead, both.shape[:-1])
    return MonthValues(
        peace_now=np.broadcast_to(both[..., :-1], (*shape, v_now.shape[-1])),
        stay=np.broadcast_to(stay, shape),
        peace_battle=np.broadcast_to(both[..., -1], shape),
        v_battle=np.broadcast_to(v_battle, shape),
        cashflow=np.broadcast_to(flow - rate_war * pun_war, shape),
        discount=np.broadcast_to(delta * np.exp(-rate_war), shape),
        rate_war=np.broadcast_to(rate_war, shape),
    )


def features(values: MonthValues, log_rho: Array, cover: Array, out: Array | None = None) -> Array:
    """``(C, m, 5)`` regressors of the continuation value, as :func:`ceasefire.model.decision.features`."""
    if out is None:
        out = np.empty((*np.broadcast_shapes(values.stay.shape, np.shape(log_rho)), 5))
    for col, value in enumerate((values.stay, values.peace_battle, values.v_battle, log_rho, cover)):
        out[..., col] = value
    return out


def stopping_problem(
    st: Structure,
    side: str,
    rec: WarRecord,
    sc_i: Scores,
    sc_j: Scores,
    ld_i: Params,
    ld_j: Params,
    remove_u: Array,
    lead: tuple[int, ...],
    samples: int,
) -> PathSet:
    """The incumbent's stopping problem on his imagined war, for many parameter variants at once.

    As :func:`ceasefire.model.decision.imagined_paths` (the incumbent's problem): he may stop on
    the best terms he believes the other leader accepts (those the other values at least at his
    value of fighting on forever, his war hazard raised by ``resolve_doubt``); the other may fall
    (uniforms ``remove_u`` of shape ``(T, m)``), and then decides as a successor.

    ``lead`` is the shape of the variants (parameters broadcast to ``(*lead, m)``). Returns a
    :class:`PathSet` of ``prod(lead) * samples`` problems of ``m / samples`` paths each, in the
    order of the variants (C order), then the samples.
    """
    j = other(side)
    horizon = rec.months
    m = rec.progress.shape[1]
    paths = m // samples
    variants = int(np.prod(lead, dtype=np.int64))
    other_successor = np.zeros((1, m), dtype=bool)
    doubt = ld_i["resolve_doubt"]
    feats = np.empty((horizon + 1, *lead, m, 5))
    stop = np.empty((horizon + 1, *lead, m))
    flow = np.empty((horizon, *lead, m))
    discount = np.empty((horizon, *lead, m))
    terminal = np.empty((*lead, m))
    for t in range(horizon + 1):
        available = st.available_from <= t
        val_j = month_values(ld_j, st, j, rec, sc_j, t, other_successor, doubt)
        accepted = (val_j.peace_now >= val_j.stay[..., None]) & available
        val_i = month_values(ld_i, st, side, rec, sc_i, t)
        features(val_i, rec.log_rho[side][t], rec.cover[side][t], out=feats[t])
        best = _best_accepted(accepted, val_i.peace_now)
        stop[t] = np.where(np.isfinite(best), best, np.nan)
        if t == horizon:
            terminal[...] = val_i.stay
            break
        flow[t] = val_i.cashflow
        discount[t] = val_i.discount
        other_successor = other_successor | (remove_u[t] < -np.expm1(-val_j.rate_war))

    def batch(a: Array, dates: int) -> Array:
        return a.reshape(dates, variants * samples, paths, *a.shape[len(lead) + 2 :])

    return PathSet(
        state=batch(feats, horizon + 1),
        stop=batch(stop, horizon + 1),
        flow=batch(flow, horizon),
        discount=batch(discount, horizon),
        terminal=terminal.reshape(variants * samples, paths),
    )


def _best_accepted(accepted: NDArray[np.bool_], peace_now: Array) -> Array:
    """``(..., m)``: the largest value of the terms accepted (``-inf`` where none), the same as
    ``np.where(accepted, peace_now, -inf).max(axis=-1)``; taken terms by terms, over whole arrays of
    paths, which is many times faster than a reduction along each path's few terms (a maximum is
    exact, so the values are the same)."""
    best = np.full(np.broadcast_shapes(accepted.shape, peace_now.shape)[:-1], -np.inf)
    for k in range(peace_now.shape[-1]):
        np.maximum(best, np.where(accepted[..., k], peace_now[..., k], -np.inf), out=best)
    return best


def removal_uniforms(u: Array, side: str) -> Array:
    """The uniforms ``(T, m)`` that decide the removal of ``side``'s leader."""
    return u[:, :, U_REMOVE_A + SIDES.index(side)]
