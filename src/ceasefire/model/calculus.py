"""A leader's calculus in one month for many variants of his parameters at once (the explanation's).

:mod:`ceasefire.analysis.explain` decomposes a leader's gap by Shapley values, which needs the same
calculus for every coalition of factor groups on the *same* paths (common random numbers). The war's
paths are recorded once per variant of the parameters that move them (:func:`record`); the leaders'
parameters then carry leading axes of variants (``(C1, C2, m)``, or ``1`` where a group does not vary
along an axis), and the month's functions of :mod:`.decision` and :mod:`.valuation` broadcast them
against the paths: the same formulas as the engine's, on every variant at once. The value of peace
is summed once for variants that differ only in the punishment (:data:`.backend.NUMPY_SHARED`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ceasefire.model import hazard
from ceasefire.model.backend import NUMPY_SHARED
from ceasefire.model.decision import observed_valuation, problem_row
from ceasefire.model.params import SIDES, Array, Ceasefire, Leader, Pair, TermsParams, map_leaves, other
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import Exact, TermScores, Valuation, battle_deals, battlefield
from ceasefire.model.war import U_REMOVE_A, Observed, Setup, observe, renew, start, step
from ceasefire.solve.lsm import PathSet

SHARED = Exact(NUMPY_SHARED)
"""Values of peace with the series shared among variants that differ only in the punishment."""


def record(w: Setup, st: Structure, z: Array, u: Array, months: int) -> Observed:
    """The war fought on without a deal for ``months`` months (normals ``z``, ``(months, m, N_NORMAL)``,
    6 a month; uniforms ``u``, ``(months, m, N_UNIFORM)``, 10 a month): what the leaders observe at
    the top of each month, ``(months + 1, ...)``."""
    n = z.shape[1]
    war, no_relief = np.ones(n, dtype=bool), np.zeros(n)
    x = start(w, n)
    rows: list[Observed] = []
    for t in range(months + 1):
        obs = observe(w, x)
        rows.append(obs)
        if t == months:
            break
        x = renew(st.renewal_every, st.renewal_first, w, step(w, x, z[t], u[t], war, no_relief, obs.power), u[t], t)
    return stack(rows)


def stack(rows: Sequence[Observed]) -> Observed:
    """Observations of consecutive months, stacked along a leading axis of months."""

    def stacked(parts: Sequence[Any]) -> Any:
        if isinstance(parts[0], Pair):
            return Pair.of(lambda s: stacked([p[s] for p in parts]))
        return np.stack([np.asarray(p, dtype=float) for p in parts])

    return Observed(**{f.name: stacked([getattr(r, f.name) for r in rows]) for f in fields(Observed)})


def month_of(rec: Observed, t: int) -> Observed:
    """Month ``t`` of a record."""
    return map_leaves(lambda a: a[t], rec)


@dataclass(frozen=True)
class MonthValues:
    """One leader's values in one month, for every variant: fighting on forever ``(..., m)``, each terms
    option now ``(..., m, K)``, and his rule's regressors ``(..., m, 5)`` but for the optimism's part."""

    stay: Array
    peace_now: Array
    val: Valuation
    peace_battle: Array
    v_battle: Array


def month_values(
    st: Structure, side: str, ld: Leader, obs: Observed, terms: Sequence[TermsParams], cease: Ceasefire, broken: Array
) -> MonthValues:
    """The incumbent's values of fighting on and of each terms option in the observed month."""
    v_battle, h_battle = battlefield(st, side, obs.progress, ld)
    val = observed_valuation(side, ld, None, obs, v_battle, h_battle, cease, broken)
    deals = TermScores(st, side, obs.progress, ld, terms).deals()
    peace_now, peace_battle = SHARED.values([(val, deals), (val, battle_deals(v_battle, h_battle))])
    return MonthValues(val.stay, peace_now, val, peace_battle[..., 0], v_battle)


def stopping_problem(
    st: Structure,
    side: str,
    rec: Observed,
    leaders: Pair[Leader],
    remove_u: Array,
    lead: tuple[int, ...],
    samples: int,
    terms: Sequence[TermsParams],
    cease: Ceasefire,
) -> PathSet:
    """The incumbent's stopping problem on his imagined war (``rec``), for every variant at once.

    As the engine's (:func:`.decision.problem_row`, month by month): he may stop on the best terms he
    believes the other leader accepts; the other may fall (uniforms ``remove_u`` ``(T, m)``), and then
    decides as a successor. ``lead`` is the shape of the variants. Returns ``prod(lead) * samples``
    problems of ``m / samples`` paths each, in the order of the variants (C order), then the samples.
    """
    horizon = rec.gained.shape[0] - 1
    m = rec.gained.shape[1]
    paths = m // samples
    variants = int(np.prod(lead, dtype=np.int64))
    other_successor = np.zeros((1, m), dtype=bool)
    doubt = leaders[side].resolve_doubt
    broken = np.full(m, float(st.prior_broken))
    feats = np.empty((horizon + 1, *lead, m, 5))
    stop = np.empty((horizon + 1, *lead, m))
    flow = np.empty((horizon, *lead, m))
    discount = np.empty((horizon, *lead, m))
    terminal = np.empty((*lead, m))
    for t in range(horizon + 1):
        row = problem_row(
            st, SHARED, side, month_of(rec, t), leaders, other_successor, t, doubt, (None,), terms, cease, broken
        )
        feats[t], stop[t] = row.feats[0], row.stop[0]
        if t == horizon:
            terminal[...] = row.stay[0]
            break
        flow[t], discount[t] = row.flow[0], row.discount[0]
        other_successor = other_successor | (remove_u[t] < hazard.probability(row.rate_other))

    def batch(a: Array, dates: int) -> Array:
        return a.reshape(dates, variants * samples, paths, *a.shape[len(lead) + 2 :])

    return PathSet(
        state=batch(feats, horizon + 1),
        stop=batch(stop, horizon + 1),
        flow=batch(flow, horizon),
        discount=batch(discount, horizon),
        terminal=terminal.reshape(variants * samples, paths),
    )


def removal_uniforms(u: Array, side: str) -> Array:
    """The uniforms ``(T, m)`` that decide the removal of ``side``'s leader."""
    return u[:, :, U_REMOVE_A + SIDES.index(side)]


__all__ = ["MonthValues", "month_of", "month_values", "other", "record", "removal_uniforms", "stopping_problem"]
