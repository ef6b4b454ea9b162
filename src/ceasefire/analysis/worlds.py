"""The worlds a claim is read in besides the run itself, on the run's own samples and random numbers
(:func:`course`; docs/explain-and-claims.md says more of each):

- **the war fought on** (``"war"``): nobody signs anything; the war, the economies and the leaders'
  fates run on the run's true paths for its horizon. Until a first settlement it is the run itself,
  path for path.
- **a settlement from the start** (``"settled:ID"``): both leaders open talks on terms ``ID`` in month
  0 and sign as soon as the talks' lag and, where the terms need one, the vote allow; then peace runs
  its course. Nobody decides anything else: no other terms, no second signing, no ceasefire broken by
  choice; a patron's veto keeps the terms off the table while it holds.

Each world can also be run **with the model's dynamics switched off** (``frozen=True``), the null
world of the "by construction" check: the state stays at the start's, except that the front moves at
the calibrated pace (``gain_km2_per_month`` a month) and each side loses its start's rate of
casualties every month at war; the leaders' hazards in that state, the talks' lag, the vote, the
ceasefire's background breakdown and the ``[[events]]`` act as in the model. The run's own random
numbers decide removals, votes, breakdowns and the events' months in both versions, so a difference
between them is the dynamics', not noise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import timeline
from ceasefire.model.decision import Decision
from ceasefire.model.engine import TRUE_WORLD, draw_event_uniforms, draw_noise, per_path, war_setup
from ceasefire.model.month import (
    MonthState,
    background_breakdown,
    begin,
    ceasefires,
    fall,
    leaders,
    month,
    on_table,
    settle,
)
from ceasefire.model.params import SIDES, Pair, Params
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import TermScores, battlefield
from ceasefire.model.war import Observed, Setup, WarState, observe
from ceasefire.run.experiment import RunResult, chunk_size_for
from ceasefire.run.sampling import Seeds
from ceasefire.scenario.build import params_of, structure_of

__all__ = ["WarCourse", "course", "joined_courses"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class WarCourse:
    """One world on a run's samples, per path (``(n,)`` unless noted).

    ``taken_month[:, j]`` is the number of months of fighting after which objective ``j`` is first
    fully taken (``inf`` if not within the horizon); ``casualties[side]`` is ``(months + 1, n)``:
    cumulative casualties after ``t`` months; ``casualties_at_taken[side]`` ``(n, objectives)`` at
    the month each objective is taken. ``removal_month[side]`` is the month the incumbent lost office
    (-1 if he did not), ``first_settlement`` the month of the first signing (-1 if none).
    ``cease_survival`` (``(months + 1, n)``, only in a null world read for a run's ceasefires) is, on
    each path with a first ceasefire in the run, the probability that it survives ``k`` months at its
    background breakdown rate alone; NaN elsewhere.
    """

    taken_month: Array
    casualties_at_taken: dict[str, Array]
    casualties: dict[str, Array]
    removal_month: dict[str, NDArray[np.int64]]
    first_settlement: NDArray[np.int64]
    first_terms: NDArray[np.int64]
    cease_survival: Array | None = None


def course(
    result: RunResult, world: str, *, levers: Mapping[str, float] | None = None, frozen: bool = False
) -> WarCourse:
    """``world`` (``"war"`` or ``"settled:ID"``) on ``result``'s samples, seeds and horizon.

    ``levers`` (intensity by id) default to the run's own; the parameters are the run's (a lever's
    credibility as the run drew it). ``frozen``: the model's dynamics switched off (the module's
    docstring), with the run's first ceasefires' background survival recorded.
    """
    sc, spec = result.scenario, result.spec
    st = structure_of(sc)
    forced = _terms_of(st, world)
    seeds = Seeds.from_seed(spec.seed)
    months, paths = spec.horizon, spec.paths
    intensity = dict(spec.levers) if levers is None else dict(levers)
    size = chunk_size_for(paths, months, "myopic")
    parts: list[WarCourse] = []
    for lo in range(0, spec.samples, size):
        rows = np.arange(lo, min(lo + size, spec.samples))
        chunk_seeds = [seeds.path_seed(int(c)) for c in result.candidates[rows]]
        params = params_of(st, per_path({k: v[rows] for k, v in result.parameters.items()}, paths))
        first_terms = None
        if frozen and forced is None:
            path_rows = np.flatnonzero(np.isin(result.outcomes.sample, rows))
            first_terms = result.outcomes.first_terms[path_rows]
        parts.append(_simulate(st, params, chunk_seeds, paths, months, intensity, forced, frozen, first_terms))
    return joined_courses(parts)


def _terms_of(st: Structure, world: str) -> int | None:
    if world == "war":
        return None
    if world.startswith("settled:"):
        return st.terms.index(world.split(":", 1)[1])
    raise ValueError(f"unknown world '{world}' (worlds: war, settled:ID)")


Decide = Callable[[Setup, MonthState, Observed, Any, Any], Decision]


def _forced(st: Structure, k: int) -> Decide:
    """Both leaders take terms ``k`` wherever they are on the table (no patron vetoes them), until a first
    signing; ``w`` the month's setup."""

    def decide(w: Setup, s: MonthState, obs: Observed, power: Any, t: Any) -> Decision:
        n = s.politics.broken.shape[0]
        scores = {side: TermScores(st, side, obs.progress, w.p.leaders[side], w.p.terms) for side in SIDES}
        on = on_table(w, st, s.politics, obs.progress, t)[:, k] & (s.tally.first_month < 0) & s.politics.at_war
        acceptable = np.zeros((n, len(st.terms)), dtype=bool)
        acceptable[:, k] = on
        return Decision(
            choice=np.where(on, k, -1).astype(np.int64),
            acceptable=acceptable,
            v_battle=Pair.of(lambda side: battlefield(st, side, obs.progress, w.p.leaders[side])[0]),
            victory=Pair.of(lambda side: scores[side].by_paths()),
            attainment=Pair.of(lambda side: scores[side].deals().attainment),
        )

    return decide


def _frozen_month(w: Setup, st: Structure, s: MonthState, t: int, u: Array, decide: Decide | None) -> MonthState:
    """One month with the dynamics switched off: the month's events as in the model (its parameters, a
    leader's fall); the talks, the signing and the vote as in the model; the front at its calibrated pace
    and the month's rate of casualties at the start's power where at war; the state otherwise the start's;
    the leaders' fates and the ceasefires' background breakdown as in the model. ``w`` is the war's start."""
    w = timeline.at(w, st, t)
    pol, tally = s.politics, s.tally
    if st.removing("A") or st.removing("B"):
        pol, tally = fall(w, st, pol, tally, t)
    if decide is not None:
        s = MonthState(s.war, pol, tally)
        obs = observe(w, s.war)
        pol, tally = settle(w, st, s, obs, decide(w, s, obs, None, t), t, u)
    x = _at_prior_rates(w, s.war, pol.at_war)
    pol, tally = leaders(w, x, pol, tally, u, t)
    return ceasefires(w, st, MonthState(x, pol, tally), u, t, None)


def _at_prior_rates(w: Setup, x: WarState, war: Array) -> WarState:
    """The front moved by its calibrated pace and the start's losses added, where at war."""
    t = w.p.territory
    held = np.where(war, np.clip(x.held + t.gain_km2_per_month, -t.other_area_km2, t.area_km2), x.held)
    return replace(x, held=held, cum_cas=Pair.of(lambda s: x.cum_cas[s] + np.where(war, w.c0[s], 0.0)))


def _simulate(
    st: Structure,
    params: Params,
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    months: int,
    intensity: Mapping[str, float],
    forced: int | None,
    frozen: bool,
    first_terms: NDArray[np.int64] | None,
) -> WarCourse:
    lever_u, z, u = draw_noise(seeds, TRUE_WORLD, paths, months, len(st.levers))
    event_u = draw_event_uniforms(seeds, TRUE_WORLD, paths, len(st.events)) if st.events else None
    w = war_setup(st, params, intensity, lever_u, event_u=event_u)
    n = len(seeds) * paths
    decide = None if forced is None else _forced(st, forced)
    s = begin(w, st, n)
    progress = [observe(w, s.war).progress]
    cumulative = {side: [np.asarray(s.war.cum_cas[side])] for side in SIDES}
    for t in range(months):
        if frozen:
            s = _frozen_month(w, st, s, t, u[t], decide)
        else:
            s, _ = month(w, st, s, t, z[t], u[t], decide, None)
        progress.append(observe(w, s.war).progress)
        for side in SIDES:
            cumulative[side].append(np.asarray(s.war.cum_cas[side]))
    cum = {side: np.stack(cumulative[side]) for side in SIDES}
    taken = np.stack(progress) >= 1.0  # (months + 1, n, objectives)
    ever, month_taken = taken.any(axis=0), taken.argmax(axis=0)  # the first month each is fully taken
    first = np.where(ever, month_taken, np.inf)
    at_first = {side: np.where(ever, cum[side][month_taken, np.arange(n)[:, None]], np.inf) for side in SIDES}
    survival = None
    if frozen and first_terms is not None:
        survival = _background_survival(w, st, first_terms, months)
    return WarCourse(
        taken_month=first,
        casualties_at_taken=at_first,
        casualties=cum,
        removal_month={side: np.asarray(s.tally.removal_month[side], dtype=np.int64) for side in SIDES},
        first_settlement=np.asarray(s.tally.first_month, dtype=np.int64),
        first_terms=np.asarray(s.tally.first_terms, dtype=np.int64),
        cease_survival=survival,
    )


def _background_survival(w: Setup, st: Structure, first_terms: NDArray[np.int64], months: int) -> Array:
    """``(months + 1, n)``: the chance that each path's first ceasefire (terms ``first_terms``, -1: none)
    survives ``k`` months at its background breakdown rate alone, the record at its prior."""
    n = first_terms.shape[0]
    broken = np.full(n, float(st.prior_broken))
    terms = np.maximum(first_terms, 0)
    out = np.ones((months + 1, n))
    for k in range(months):
        rate = background_breakdown(w, st, terms, np.full(n, float(k)), broken)
        out[k + 1] = out[k] * (1.0 - rate)
    out[:, first_terms < 0] = np.nan
    return out


def joined_courses(parts: Sequence[WarCourse]) -> WarCourse:
    """Chunks' courses, or runs' batches' (as :func:`ceasefire.analysis.levers.joined` joins the runs), as one,
    paths in order."""
    if len(parts) == 1:
        return parts[0]
    survivals = [p.cease_survival for p in parts if p.cease_survival is not None]
    return WarCourse(
        taken_month=np.concatenate([p.taken_month for p in parts]),
        casualties_at_taken={s: np.concatenate([p.casualties_at_taken[s] for p in parts]) for s in SIDES},
        casualties={s: np.concatenate([p.casualties[s] for p in parts], axis=1) for s in SIDES},
        removal_month={s: np.concatenate([p.removal_month[s] for p in parts]) for s in SIDES},
        first_settlement=np.concatenate([p.first_settlement for p in parts]),
        first_terms=np.concatenate([p.first_terms for p in parts]),
        cease_survival=np.concatenate(survivals, axis=1) if len(survivals) == len(parts) else None,
    )
