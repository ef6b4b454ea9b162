"""Which claims hold: each ``[[claims]]`` query evaluated on a run, with its Monte Carlo interval and verdict.

:func:`check_claims` runs the scenario once (or takes that run), plus the other worlds a claim
reads (:mod:`ceasefire.analysis.worlds`) on the same true paths. A claim about levers is checked on
the lever study instead (:func:`run_lever_study`): batches of many parameter samples with fewer
paths each, with and without every package on each batch's samples and seeds (common random
numbers; a credibility the claim fixes is put in every sample's parameters), because a lever's
effect varies mostly between parameter samples; all its operands are read on the batches joined.
Each query (:mod:`ceasefire.scenario.query`) is estimated from the pooled paths; its 95% interval
is a cluster bootstrap over the outer parameter samples (a sample's paths resampled together, with
a fixed seed; paired samples together), so it carries the parameters' uncertainty as well as the
paths' noise. The verdict:

- **supported**: the whole interval satisfies the claim's comparison;
- **contradicted**: no point of the interval does;
- **undecided**: the interval straddles the threshold, or the quantity is not defined (e.g. the
  survival of a ceasefire when none was signed).

**By construction.** Every claim is evaluated a second time on the same samples and random numbers
with the model's dynamics switched off (:func:`ceasefire.analysis.worlds.course` with ``frozen``):
nobody signs or breaks anything by choice, and the state stays at the start's but for the front and
the casualties, which move at their calibrated rates. A claim whose decided verdict is the same
there follows from the inputs alone, and is reported as ``by construction``.

A value never reached within the horizon (no settlement, an objective never taken) counts as
larger than any number: a median is then "beyond the horizon" when fewer than half the paths
reach it. Such a value is a month the run does not reach, not a month known to be large: a
median settlement "beyond" a 6-month horizon decides "> 3 months" but not "> 24 months". A claim
the horizon cannot decide (a window longer than the horizon, a comparison with a month past it, a
difference of two operands one of which lies past it) is **undecided**, and its ``reason`` says
"beyond the horizon" (:func:`beyond_horizon`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.analysis.consistency import ConsistencyResult, check_consistency
from ceasefire.analysis.frames import Tabular, spec_fields
from ceasefire.analysis.levers import (
    HALF_WIDTH,
    Baselines,
    LeverEffects,
    joined,
    lever_effects_within,
    staged,
    study_sizes,
)
from ceasefire.analysis.worlds import WarCourse, course, joined_courses
from ceasefire.model.engine import Outcomes
from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.scenario.query import LeverSetting, Operand, Quantity, Query, parse_query
from ceasefire.scenario.schema import Scenario

__all__ = [
    "BOOTSTRAP",
    "ClaimResult",
    "ClaimsReport",
    "Worlds",
    "beyond_horizon",
    "check_claims",
    "claim_packages",
    "evaluate",
    "judge",
    "run_lever_study",
    "runs_needed",
    "worlds_of",
]

Array = NDArray[np.float64]
BOOTSTRAP = 1000
"""Bootstrap resamples of the outer samples for each interval."""
LEVEL = 0.95
ACCEPTED = 0.5
"""Terms a public accepts: fewer than this share of it rejects them (its ``rejected_by`` poll)."""
DECIDED = ("supported", "contradicted")

Setting = tuple[LeverSetting, ...]
"""A lever setting, sorted by lever id; ``()`` the run without levers."""


@dataclass(frozen=True)
class ClaimResult:
    """One claim's verdict, and its verdict with the model's dynamics switched off."""

    id: str
    source: str
    asserts: str
    query: str
    quantity: str  # the compared number in words
    estimate: float | None  # None: not defined, or beyond the horizon (see display)
    low: float | None
    high: float | None
    verdict: str  # supported, contradicted, undecided
    rule: str
    display: str  # the estimate and interval as text
    reason: str | None = None  # why it is undecided where the run's horizon cannot decide it
    by_construction: bool = False
    """The same decided verdict with the model's dynamics switched off: it follows from the inputs."""
    null_verdict: str = "undecided"
    null_display: str = ""
    note: str | None = None
    operands: list[dict[str, Any]] = field(default_factory=list)
    """For a comparison of two quantities: each one's estimate and interval."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClaimsReport(Tabular):
    scenario: str
    claims: tuple[ClaimResult, ...]
    inconsistencies: tuple[ConsistencyResult, ...]
    seconds: float
    sizes: dict[str, int]


# -- the worlds of one lever setting ------------------------------------------------------------


@dataclass
class Worlds:
    """What the claims read of one lever setting: its run and the other worlds on its samples, each
    with the model's dynamics (``frozen=False``) or without (``True``), computed when first asked for.

    ``parts``: where ``run`` is batches joined (the lever study's, :func:`ceasefire.analysis.levers.joined`),
    the batches themselves: a joined run cannot be simulated again (its batches' seeds differ), so each
    world is computed batch by batch and joined in the same order.
    """

    run: RunResult
    courses: dict[tuple[str, bool], WarCourse] = field(default_factory=dict)
    parts: tuple[RunResult, ...] = ()

    @classmethod
    def of_batches(cls, runs: Sequence[RunResult]) -> Worlds:
        """The worlds of batches' runs, read as one run over all their samples."""
        return cls(joined(runs), parts=tuple(runs) if len(runs) > 1 else ())

    def world(self, key: str, frozen: bool) -> WarCourse:
        """``war`` or ``settled:ID``; the frozen war also records the run's ceasefires' background survival."""
        if (key, frozen) not in self.courses:
            runs = self.parts or (self.run,)
            self.courses[key, frozen] = joined_courses([course(r, key, frozen=frozen) for r in runs])
        return self.courses[key, frozen]


def worlds_of(result: RunResult) -> dict[Setting, Worlds]:
    """The worlds of a run without levers of its own claims, for :func:`evaluate` (each computed once)."""
    return {(): Worlds(result)}


@dataclass(frozen=True)
class _Values:
    """A quantity as per-path numbers, and the statistic that pools them.

    ``stat``: ``mean`` of ``values`` over the ``valid`` paths (a probability is the mean of 0/1);
    ``quantile`` (level ``q``); ``ratio`` (``sum values * given / sum given``, a conditional
    probability); ``km`` (a ceasefire's survival or breakdown, Kaplan–Meier on ``cease``).
    """

    values: Array
    valid: NDArray[np.bool_]
    stat: str
    q: float = 0.5
    given: Array | None = None
    cease: tuple[Array, Array, Array] | None = None  # months held, broke, broken by (paths with a ceasefire)


def _accepted(
    q: Quantity, result: RunResult, first_terms: NDArray[np.int64], sample: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Whether each path's first terms are accepted by ``q.accepted_by``'s public (its sample's poll)."""
    side = str(q.accepted_by)
    ok = np.zeros(first_terms.shape[0], dtype=bool)
    for k, term in enumerate(result.terms):
        rejected = np.asarray(result.parameters[f"terms.{term}.rejected_by.{side}"], dtype=float)
        ok |= (first_terms == k) & (rejected[sample] < ACCEPTED)
    return ok


def _event(q: Quantity, w: Worlds, frozen: bool) -> Array:
    """0/1 per path of a settlement or removal event in the run (or its null)."""
    result = w.run
    world: WarCourse | Outcomes = w.world("war", True) if frozen else result.outcomes
    first, terms, removal = world.first_settlement, world.first_terms, world.removal_month
    months = int(q.months or 0)
    if q.kind == "settle":
        hit = (first >= 0) & (first < months)
        if q.terms:
            hit &= np.isin(terms, [result.terms.index(t) for t in q.terms])
        if q.accepted_by:
            hit &= _accepted(q, result, terms, result.outcomes.sample)
        return hit.astype(float)
    month = removal[str(q.side)]
    return ((month >= 0) & (month < months)).astype(float)


def _path_values(q: Quantity, w: Worlds, frozen: bool) -> _Values:
    """The quantity ``q`` on every path of the setting ``w`` (with the dynamics, or without)."""
    result = w.run
    o = result.outcomes
    n = o.sample.size
    everywhere = np.ones(n, dtype=bool)
    stat = "mean" if q.stat in ("P", "mean") else "quantile"
    level = 0.5 if q.stat == "median" else q.q
    if q.given is not None:
        return _Values(_event(replace(q, given=None), w, frozen), everywhere, "ratio", given=_event(q.given, w, frozen))
    if q.kind == "settle" or (q.kind == "removed" and q.world is None):
        return _Values(_event(q, w, frozen), everywhere, "mean")
    if q.kind == "removed":
        month = w.world(q.world_key, frozen).removal_month[str(q.side)]
        return _Values(((month >= 0) & (month < (q.months or 0))).astype(float), everywhere, "mean")
    if q.kind in ("holds", "broken"):
        settled = o.first_settlement >= 0
        months = int(q.months or 0)
        if frozen:  # the run's own ceasefires at their background breakdown rate alone
            survival = w.world("war", True).cease_survival
            if survival is None or months >= survival.shape[0]:
                return _Values(np.full(n, np.nan), np.zeros(n, dtype=bool), "mean")
            kept = np.where(settled, survival[months], 0.0)
            value = kept if q.kind == "holds" else (1.0 - kept if q.side is None else np.zeros(n))
            return _Values(value, settled, "mean")
        cease = (o.ceasefire_months.astype(float), o.ceasefire_broke.astype(float), o.ceasefire_broken_by.astype(float))
        return _Values(np.zeros(n), settled, "km", cease=cease)
    if q.kind == "settle_month":
        first = w.world("war", True).first_settlement if frozen else o.first_settlement
        settle: Array = np.where(first >= 0, first.astype(np.float64), np.inf)
        return _Values(settle, everywhere, stat, level)
    if q.kind == "casualties" and q.scope in ("until_settlement", "over_horizon"):
        if frozen:  # nobody signs: both are the horizon's
            data = np.asarray(w.world("war", True).casualties[str(q.side)][-1], dtype=np.float64)
        else:
            table = o.casualties_to_settlement if q.scope == "until_settlement" else o.casualties_total
            data = np.asarray(table[str(q.side)], dtype=np.float64)
        return _Values(data, everywhere, stat, level)
    war = w.world("war", frozen)
    objectives = [obj.id for obj in result.scenario.objectives]
    if q.kind in ("taken", "take_month") or q.scope == "until_objective":
        j = objectives.index(str(q.objective))
        if q.kind == "taken":
            return _Values((war.taken_month[:, j] <= (q.months or 0)).astype(float), everywhere, "mean")
        if q.kind == "take_month":
            return _Values(war.taken_month[:, j], everywhere, stat, level)
        return _Values(war.casualties_at_taken[str(q.side)][:, j], everywhere, stat, level)
    months = int(q.months or 0)
    if months > war.casualties[str(q.side)].shape[0] - 1:
        return _Values(np.full(n, np.nan), np.zeros(n, dtype=bool), stat, level)
    return _Values(war.casualties[str(q.side)][months], everywhere, stat, level)


# -- estimates with cluster-bootstrap weights ---------------------------------------------------


def _per_sample(x: Array, sample: NDArray[np.int64], samples: int) -> Array:
    """Sums of ``x`` (``(n,)`` or ``(n, k)``) over each sample's paths: ``(samples,)`` or ``(samples, k)``."""
    out = np.zeros((samples, *x.shape[1:]))
    np.add.at(out, sample, x)
    return out


def _estimate(v: _Values, sample: NDArray[np.int64], weights: Array, q: Quantity) -> Array:
    """The statistic under each row of sample weights ``(R, samples)``: ``(R,)``."""
    samples = weights.shape[1]
    out = np.full(weights.shape[0], np.nan)
    if v.stat in ("mean", "ratio"):  # the mean over the valid paths, or over those where the condition held
        given = v.valid.astype(float) if v.stat == "mean" else np.asarray(v.given)
        x = np.where(v.valid, v.values, 0.0) if v.stat == "mean" else v.values * given
        num = weights @ _per_sample(x, sample, samples)
        den = weights @ _per_sample(given, sample, samples)
        ok = den > 0
        out[ok] = num[ok] / den[ok]
        return out
    if v.stat == "km":
        return _kaplan_meier(v, q, sample, weights)
    order = np.argsort(np.where(v.valid, v.values, np.inf), kind="stable")
    sorted_values = v.values[order]
    sorted_sample, sorted_valid = sample[order], v.valid[order]
    for lo in range(0, weights.shape[0], 64):
        rows = slice(lo, lo + 64)
        w_path = weights[rows][:, sorted_sample] * sorted_valid[None, :]
        total = w_path.sum(axis=1)
        cum = np.cumsum(w_path, axis=1)
        target = v.q * total
        index = np.array([np.searchsorted(c, t, side="left") for c, t in zip(cum, target, strict=True)])
        index = np.minimum(index, sorted_values.size - 1)
        out[rows] = np.where(total > 0, sorted_values[index], np.nan)
    return out


def _kaplan_meier(v: _Values, q: Quantity, sample: NDArray[np.int64], weights: Array) -> Array:
    """A first ceasefire's survival over ``q.months`` months (``holds``), or its breakdown within them
    (``broken``, by anyone or by ``q.side``'s choice: the cumulative incidence of that cause), from the
    run's first ceasefires, those signed late censored at the horizon (Kaplan & Meier 1958)."""
    months_held, broke_code, by_code = (np.asarray(a) for a in v.cease or ())
    keep = v.valid
    held, broke, by, sample = months_held[keep], broke_code[keep] > 0, by_code[keep], sample[keep]
    months = int(q.months or 0)
    samples = weights.shape[1]
    ages = np.arange(months)
    at_risk = _per_sample((held[:, None] > ages[None, :]).astype(float), sample, samples)
    ended = broke[:, None] & (held[:, None] == ages[None, :] + 1)
    events = _per_sample(ended.astype(float), sample, samples)
    n_k, d_k = weights @ at_risk, weights @ events
    observed = n_k > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(observed, d_k / np.where(observed, n_k, 1.0), 0.0)
    before = np.cumprod(np.concatenate([np.ones((weights.shape[0], 1)), 1.0 - hazard], axis=1), axis=1)
    # a month nobody was observed at is unknown, unless every ceasefire had broken down before it
    unknown = np.any(~observed & (before[:, :-1] > 0.0), axis=1)
    survival = np.where(unknown, np.nan, before[:, -1])
    if q.kind == "holds":
        return survival
    if q.side is None:
        return 1.0 - survival
    cause = 1.0 if q.side == "A" else 2.0
    cause_events = _per_sample((ended & (by[:, None] == cause)).astype(float), sample, samples)
    incidence = np.where(observed, (weights @ cause_events) / np.where(observed, n_k, 1.0), 0.0)
    return np.where(unknown, np.nan, np.sum(before[:, :-1] * incidence, axis=1))


def _operand_rows(o: Operand, worlds: Mapping[Setting, Worlds], weights: Array, frozen: bool) -> Array:
    """The operand's number under each row of weights: the quantity, or the levers' change in it."""
    base = worlds[()]
    sample = base.run.outcomes.sample  # the engine lays paths out sample by sample, as the worlds' are
    rows = _estimate(_path_values(o.quantity, base, frozen), sample, weights, o.quantity)
    if o.levers:
        changed = worlds[_key(o.levers)]
        other = _estimate(_path_values(o.quantity, changed, frozen), sample, weights, o.quantity)
        with np.errstate(invalid="ignore"):
            rows = o.direction * (other - rows)
    return rows


def _interval(rows: Array) -> tuple[float, float, float]:
    boot = rows[1:]
    boot = boot[~np.isnan(boot)]
    if math.isnan(rows[0]) or boot.size == 0:
        return float(rows[0]), math.nan, math.nan
    tail = (1.0 - LEVEL) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail], method="inverted_cdf")
    return float(rows[0]), float(low), float(high)


def _compared(
    query: Query, worlds: Mapping[Setting, Worlds], weights: Array, frozen: bool
) -> tuple[Array, list[Array]]:
    """The claim's compared number under each row of weights, and each operand's (before its factor)."""
    each = [_operand_rows(o, worlds, weights, frozen) for o in query.operands]
    if len(each) == 1:
        return each[0], each
    with np.errstate(invalid="ignore"):
        return each[0] - query.operands[1].factor * each[1], each


def evaluate(
    query: Query,
    result: RunResult,
    weights: Array,
    worlds: Mapping[Setting, Worlds] | None = None,
    *,
    frozen: bool = False,
) -> tuple[float, float, float]:
    """Point estimate and bootstrap interval of a query's compared number.

    ``weights`` is ``(1 + B, samples)``: the first row all ones (the estimate), then the bootstrap
    resamples. ``worlds`` maps each lever setting the query names to its :class:`Worlds` (the run
    ``result`` is the setting without levers; other worlds are computed on it when needed). For a
    lever's effect the number is ``direction * (changed - base)``; for a comparison of two operands
    ``left - factor * right``. ``frozen``: with the model's dynamics switched off.
    """
    table: dict[Setting, Worlds] = dict(worlds or {})
    table.setdefault((), Worlds(result))
    for setting in query.settings():
        if _key(setting) not in table:
            raise ValueError(f"the query needs the run with {', '.join(lv.label() for lv in setting)}")
    rows, _ = _compared(query, table, weights, frozen)
    return _interval(rows)


def beyond_horizon(q: Quantity | Query, horizon: int) -> str | None:
    """Why a run of ``horizon`` months cannot decide quantity ``q`` at all, or ``None`` when it can.

    A window of months (settlement, removal or an objective taken *within* N months, a ceasefire
    holding or broken within N months, casualties during N months of war) is decided only if the run
    simulates all N months: a settlement in month 30 is unknown to a 24-month run, not absent. For a
    query: any quantity it reads (each operand's, and a condition's). A ceasefire's survival over more
    months than the run's is left to its Kaplan–Meier estimate, which is not defined there unless every
    ceasefire broke down before.
    """
    if isinstance(q, Query):
        return next((why for x in q.quantities() if (why := beyond_horizon(x, horizon)) is not None), None)
    months = q.months or 0
    windowed = q.kind in ("settle", "removed", "taken") or (q.kind == "casualties" and q.scope == "during_war")
    if windowed and months > horizon:
        return f"beyond the horizon: {months} months asked, {horizon} simulated"
    return None


def _compare(query: Query, x: float, op: str, t: float, horizon: int | None) -> bool | None:
    """Whether ``x op t`` holds; ``None`` when ``x`` does not decide it.

    ``+inf`` is a month never reached within the horizon (a settlement or an objective after it): for the
    months of a settlement it stands for some month >= ``horizon``, for the months to take an objective for
    some month > ``horizon``; the comparison is decided only if it holds for all such months or for none.
    Any other infinity (a lever's change, a difference of two operands, casualties until an objective
    never taken) decides nothing.
    """
    if math.isnan(x):
        return None
    if not math.isinf(x):
        return {"<": x < t, "<=": x <= t, ">": x > t, ">=": x >= t}[op]
    kind = query.quantity.kind
    if horizon is None or x < 0 or query.is_lever or query.is_comparison or kind not in ("settle_month", "take_month"):
        return None
    a, strict = float(horizon), kind == "take_month"  # the months possible: [a, inf), or (a, inf) if strict
    above_all = {">": a > t or (strict and a >= t), ">=": a >= t}
    below_none = {"<": a >= t, "<=": a > t or (strict and a >= t)}
    if op in above_all:
        return True if above_all[op] else None
    return False if below_none[op] else None


def _holds(query: Query, x: float, horizon: int | None) -> bool | None:
    """Whether the claim's comparison holds at ``x``; ``None`` when ``x`` does not decide it (:func:`_compare`)."""
    if query.op != "between":
        return _compare(query, x, query.op, query.threshold, horizon)
    high = float(query.high if query.high is not None else math.inf)
    above, below = _compare(query, x, ">=", query.threshold, horizon), _compare(query, x, "<=", high, horizon)
    if above is False or below is False:
        return False
    return True if above is True and below is True else None


def _verdict(query: Query, estimate: float, low: float, high: float, horizon: int | None = None) -> str:
    """supported, contradicted or undecided: by the interval's ends (see :func:`_holds`).

    A range (``between``) is contradicted when the whole interval lies on one side of it; the
    interval covering the range and more is undecided.
    """
    if math.isnan(estimate) or (horizon is not None and beyond_horizon(query, horizon)):
        return "undecided"
    at_low, at_high = _holds(query, low, horizon), _holds(query, high, horizon)
    if at_low is True and at_high is True:
        return "supported"
    if query.op == "between":
        top = float(query.high if query.high is not None else math.inf)
        below = _compare(query, high, "<", query.threshold, horizon)
        above = _compare(query, low, ">", top, horizon)
        return "contradicted" if below is True or above is True else "undecided"
    if at_low is False and at_high is False:
        return "contradicted"
    return "undecided"


judge = _verdict
"""The verdict rule, public for the dashboard's previews: ``judge(query, estimate, low, high, horizon)``."""


def _reason(
    query: Query, estimate: float, low: float, high: float, horizon: int, operands: Sequence[float] = ()
) -> str | None:
    """Why a claim is undecided for want of months, if it is: the window, the infinite ends (the
    compared number's or, for a comparison of two quantities, an operand's ``operands``), or a
    ceasefire followed for longer than the run."""
    why = beyond_horizon(query, horizon)
    if why is not None:
        return why
    ends = [_holds(query, x, horizon) for x in (low, high)]
    values = (estimate, low, high, *operands)
    if any(math.isinf(x) for x in values) and (None in ends or math.isnan(estimate)):
        return f"beyond the horizon: the value lies past month {horizon}, which the run does not reach"
    longest = max((x.months or 0 for x in query.quantities() if x.kind in ("holds", "broken")), default=0)
    if longest > horizon and any(math.isnan(x) for x in (estimate, low, high)):
        return f"beyond the horizon: a ceasefire followed for {longest} months, {horizon} simulated"
    return None


def _rule(query: Query) -> str:
    what = "difference" if query.is_comparison else "change" if query.is_lever else "estimate"
    if query.op == "between":
        head, where = f"{what} in [{query.threshold:g}, {query.high:g}]", "in the range"
    else:
        inside = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}[query.op]
        head, where = f"{what} {query.op} {query.threshold:g}", f"{inside} {query.threshold:g}"
    end = "contradicted if none of it does, else undecided"
    return f"{head}: supported if the whole {LEVEL:.0%} interval lies {where}, {end}"


def _show(x: float, months: bool, horizon: int) -> str:
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "-inf" if x < 0 else f"beyond horizon (> {horizon - 1})"
    if months:
        return f"{x:g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3f}"


def _shown(estimate: float, low: float, high: float, months: bool, horizon: int) -> str:
    return f"{_show(estimate, months, horizon)} [{_show(low, months, horizon)}, {_show(high, months, horizon)}]"


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _bootstrap_weights(samples: int, seed: int, resamples: int) -> Array:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC1A1]))
    boot = rng.multinomial(samples, np.full(samples, 1.0 / samples), size=resamples).astype(float)
    return np.concatenate([np.ones((1, samples)), boot])


def _key(setting: Sequence[LeverSetting]) -> Setting:
    return tuple(sorted(setting, key=lambda lv: lv.id))


def _package(setting: Setting) -> dict[str, float]:
    return {lv.id: lv.intensity for lv in setting}


def _credibility(setting: Setting) -> dict[str, float]:
    return {lv.id: float(lv.credibility) for lv in setting if lv.credibility is not None}


def _settings(queries: Sequence[Query]) -> list[Setting]:
    """The lever settings the queries name, each once, in a fixed order."""
    keys = {_key(setting) for q in queries for setting in q.settings()}

    def order(k: Setting) -> list[tuple[str, float, float]]:
        return [(lv.id, lv.intensity, -1.0 if lv.credibility is None else lv.credibility) for lv in k]

    return sorted(keys, key=order)


def claim_packages(scenario: Scenario) -> list[dict[str, float]]:
    """The lever packages the scenario's claims name, each once, for the lever study (whose stopping rule
    counts them): those at the scenario's own credibility. A setting whose claim fixes a credibility
    (``with credibility C``) is run on the study's batches once the study stands
    (:meth:`ceasefire.analysis.levers.Baselines.runs_with` with ``credibility``)."""
    settings = _settings([parse_query(c.query) for c in scenario.claims])
    packages = [tuple(sorted(_package(k).items())) for k in settings if not _credibility(k)]
    return [dict(p) for p in sorted(set(packages))]


def run_lever_study(
    scenario: Scenario,
    spec: RunSpec,
    half_width: float = HALF_WIDTH,
    sizes: Sequence[int | None] = (None, None, None),
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[LeverEffects, Baselines]:
    """The lever study of the lever claims (and of the report's levers section) for runs of ``spec``: every
    lever at intensity 1 and every package the claims name, on batches of ``sizes`` (samples per batch,
    paths, samples at most; each by default :func:`ceasefire.analysis.levers.study_sizes` of ``spec``'s)."""
    batch, paths, most = (x or d for x, d in zip(sizes, study_sizes(spec.samples, spec.paths), strict=True))
    return lever_effects_within(scenario, half_width, batch_samples=batch, paths=paths, max_samples=most,
                                **spec_fields(spec, "seed", "horizon", "policy"), packages=claim_packages(scenario),
                                progress=progress)  # fmt: skip


def _world_count(queries: Sequence[Query]) -> int:
    """Worlds besides the run the queries read, with and without the dynamics, and the null war."""
    keys = {x.world_key for q in queries for x in q.quantities()} - {"run"}
    return 2 * len(keys - {"war"}) + 2 if queries else 0


def runs_needed(scenario: Scenario) -> int:
    """Runs of the scenario's size that :func:`check_claims` keeps at once, about: the baseline and the
    worlds its claims read on it (a world about as large as a run), and the lever study (batches of up to
    five times the samples with a quarter of the paths, :func:`ceasefire.analysis.levers.study_sizes`)
    with and without each lever setting its claims name, and their worlds."""
    queries = [parse_query(c.query) for c in scenario.claims]
    plain = [q for q in queries if not q.is_lever]
    lever = [q for q in queries if q.is_lever]
    total = 1 + _world_count(plain)
    if lever:
        total += math.ceil(5 / 4 * (1 + len(_settings(lever))) * (1 + _world_count(lever)))
    return total


def _lever_worlds(
    study: Baselines, settings: Sequence[Setting], report: Callable[[str], Callable[[int, int], None] | None]
) -> dict[Setting, Worlds]:
    """The lever study's batches joined for the lever claims: the worlds without levers and with each
    setting, on the same samples."""
    worlds: dict[Setting, Worlds] = {(): Worlds.of_batches(study.runs)}
    for k in settings:
        label = " + ".join(lv.label() for lv in k)
        worlds[k] = Worlds.of_batches(study.runs_with(_package(k), report(label), credibility=_credibility(k) or None))
    return worlds


def check_claims(
    scenario: Scenario,
    samples: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    resamples: int = BOOTSTRAP,
    base: RunResult | None = None,
    lever_study: Baselines | None = None,
    lever_half_width: float = HALF_WIDTH,
    lever_batch_samples: int | None = None,
    lever_paths: int | None = None,
    lever_max_samples: int | None = None,
) -> ClaimsReport:
    """Evaluate every ``[[claims]]`` query and every ``[[consistency]]`` check of a scenario.

    Sizes default to the scenario's ``[run]`` table. ``progress`` is called with a label and
    ``(done, total)`` samples of the run in progress. ``base``, a run of this scenario at these
    sizes and seed without levers (e.g. a report's headline run), is used instead of running it
    again: the numbers are the same.

    A claim about levers is checked on the lever study, as the module docstring says
    (:func:`run_lever_study`: batches of ``lever_batch_samples`` x ``lever_paths`` added until each
    change's 95% interval is within ``lever_half_width``, up to ``lever_max_samples``).
    ``lever_study``, those batches already run (with the claims' packages among its ``packages``),
    is used instead of running them again.
    """
    start = time.perf_counter()
    spec = RunSpec.from_scenario(scenario, samples=samples, paths=paths, seed=seed, horizon=horizon)
    spec.validate(scenario)
    queries = [(c, parse_query(c.query)) for c in scenario.claims]
    report = partial(staged, progress)
    if base is None:
        base = run(scenario, spec, progress=report("baseline"))
    elif base.scenario != scenario or base.spec != spec:
        raise ValueError(
            "base must be a run of the same scenario with the claims' sizes, seed and horizon, without levers "
            f"(claims: {spec.samples} x {spec.paths}, seed {spec.seed}, horizon {spec.horizon}; "
            f"base: {base.spec.samples} x {base.spec.paths}, seed {base.spec.seed}, horizon {base.spec.horizon})"
        )
    worlds: dict[Setting, Worlds] = {(): Worlds(base)}
    weights = _bootstrap_weights(spec.samples, spec.seed, resamples)
    settings = _settings([q for _, q in queries])
    lever_worlds, lever_weights, lever_sizes = worlds, weights, {}
    if settings:
        if lever_study is None:
            given = (lever_batch_samples, lever_paths, lever_max_samples)
            _, lever_study = run_lever_study(scenario, spec, lever_half_width, given, progress)
        elif lever_study.scenario != scenario or lever_study.spec.horizon != spec.horizon:
            raise ValueError("lever_study must be batches of runs of the same scenario and horizon")
        lever_worlds = _lever_worlds(lever_study, settings, report)
        lever_weights = _bootstrap_weights(lever_study.samples, spec.seed, resamples)
        lever_sizes = {"lever_samples": lever_study.samples, "lever_paths": lever_study.spec.paths,
                       "lever_batches": len(lever_study.runs)}  # fmt: skip

    h = spec.horizon
    results = []
    for claim, q in queries:
        # a lever claim reads every operand on the study's samples, with and without its levers
        table, w = (lever_worlds, lever_weights) if q.is_lever else (worlds, weights)
        rows, each = _compared(q, table, w, frozen=False)
        estimate, low, high = _interval(rows)
        null_rows, null_each = _compared(q, table, w, frozen=True)
        n_est, n_low, n_high = _interval(null_rows)
        months = q.quantity.unit == "months"
        beyond = beyond_horizon(q, h)
        ends: list[float] = []
        operands = []
        if q.is_comparison:
            for o, r, r0 in zip(q.operands, each, null_each, strict=True):
                e, lo, hi = _interval(r)
                e0, lo0, hi0 = _interval(r0)
                ends += [e, lo, hi]
                operands.append(
                    {
                        "quantity": replace(o, factor=1.0).describe(),
                        "factor": o.factor,
                        "estimate": None if beyond else _finite(e),
                        "low": None if beyond else _finite(lo),
                        "high": None if beyond else _finite(hi),
                        "display": "n/a" if beyond else _shown(e, lo, hi, months, h),
                        "null_display": "n/a" if beyond else _shown(e0, lo0, hi0, months, h),
                    }
                )
        verdict = _verdict(q, estimate, low, high, h)
        null_verdict = _verdict(q, n_est, n_low, n_high, h)
        reason = _reason(q, estimate, low, high, h, ends) if verdict == "undecided" else None
        shown = _shown(estimate, low, high, months, h)
        if q.is_comparison:
            factor = q.operands[1].factor
            times = "" if factor == 1.0 else f"{factor:g} x "
            shown = f"{operands[0]['display']} vs {times}{operands[1]['display']}; difference {shown}"
        null_shown = _shown(n_est, n_low, n_high, months, h)
        if beyond:  # what was estimated is another quantity (a shorter window)
            shown, null_shown = f"n/a ({beyond})", "n/a"
            estimate = low = high = math.nan
        results.append(
            ClaimResult(
                id=claim.id,
                source=claim.source,
                asserts=claim.asserts,
                query=claim.query,
                quantity=" - ".join(o.describe() for o in q.operands),
                estimate=_finite(estimate),
                low=_finite(low),
                high=_finite(high),
                verdict=verdict,
                rule=_rule(q),
                display=shown,
                reason=reason,
                by_construction=verdict in DECIDED and null_verdict == verdict,
                null_verdict=null_verdict,
                null_display=null_shown,
                note=claim.note,
                operands=operands,
            )
        )
    runs = 1 + len(settings)  # the run without levers, then one per lever setting
    return ClaimsReport(
        scenario=scenario.scenario.id,
        claims=tuple(results),
        inconsistencies=tuple(check_consistency(scenario)),
        seconds=time.perf_counter() - start,
        sizes=spec_fields(spec, "samples", "paths", "horizon", "seed")
        | {"runs": runs, "bootstrap": resamples, **lever_sizes},
    )
