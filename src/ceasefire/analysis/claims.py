"""Which claims hold: each ``[[claims]]`` query evaluated on a run, with its Monte Carlo interval and verdict.

:func:`check_claims` runs the scenario once (or takes that run), plus, when a claim is about
objectives or about a number of months of war, the war fought on without a deal on the same true
paths (:func:`war_course`). A claim about levers is checked on the lever study instead
(:func:`ceasefire.analysis.levers.lever_effects_within`): batches of many parameter samples with
fewer paths each, every package run on each batch's samples and seeds (common random numbers),
batches added until every lever's change is within ±3 points (the batches' sizes follow the run's:
:func:`ceasefire.analysis.levers.study_sizes`), because a lever's effect varies mostly between
parameter samples. Each query (:mod:`ceasefire.scenario.query`) is estimated from
the pooled paths; its 95% interval is a cluster bootstrap over the outer parameter samples (the
paths of a sample are resampled together; a fixed seed), so it carries the uncertainty of the
parameters as well as the paths' noise. For a lever claim the change is bootstrapped on the
paired samples. The verdict:

- **supported**: the whole interval satisfies the claim's comparison;
- **contradicted**: no point of the interval does;
- **undecided**: the interval straddles the threshold, or the quantity is not defined (e.g. the
  survival of a ceasefire when none was signed).

A value never reached within the horizon (no settlement, an objective never taken) counts as
larger than any number: a median is then "beyond the horizon" when fewer than half the paths
reach it. Such a value is a month the run does not reach, not a month known to be large: a
median settlement "beyond" a 6-month horizon decides "> 3 months" but not "> 24 months". A claim
the horizon cannot decide (a window longer than the horizon, a comparison with a month past it)
is **undecided**, and its ``reason`` says "beyond the horizon" (:func:`beyond_horizon`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.analysis.consistency import ConsistencyResult, check_consistency
from ceasefire.analysis.frames import Tabular
from ceasefire.analysis.levers import HALF_WIDTH, Baselines, joined, lever_effects_within, study_sizes
from ceasefire.model.engine import fight_without_deal, per_path
from ceasefire.run.experiment import RunResult, RunSpec, chunk_size_for, run
from ceasefire.run.sampling import Seeds
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.query import Quantity, Query, parse_query
from ceasefire.scenario.schema import SIDES, Scenario

__all__ = [
    "BOOTSTRAP",
    "ClaimResult",
    "ClaimsReport",
    "WarCourse",
    "beyond_horizon",
    "check_claims",
    "claim_packages",
    "evaluate",
    "judge",
    "runs_needed",
    "war_course",
]

Array = NDArray[np.float64]
BOOTSTRAP = 1000
"""Bootstrap resamples of the outer samples for each interval."""
LEVEL = 0.95


@dataclass(frozen=True)
class ClaimResult:
    """One claim's verdict."""

    id: str
    source: str
    asserts: str
    query: str
    quantity: str  # the quantity in words
    estimate: float | None  # None: not defined, or beyond the horizon (see display)
    low: float | None
    high: float | None
    verdict: str  # supported, contradicted, undecided
    rule: str
    display: str  # the estimate and interval as text
    reason: str | None = None  # why it is undecided where the run's horizon cannot decide it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClaimsReport(Tabular):
    scenario: str
    claims: tuple[ClaimResult, ...]
    inconsistencies: tuple[ConsistencyResult, ...]
    seconds: float
    sizes: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "claims": [c.to_dict() for c in self.claims],
            "inconsistencies": [c.to_dict() for c in self.inconsistencies],
            "seconds": self.seconds,
            "sizes": dict(self.sizes),
        }


@dataclass(frozen=True)
class WarCourse:
    """The war fought on without a deal on a run's true paths (per path, ``(n,)`` or ``(n, objectives)``).

    ``taken_month[:, j]`` is the number of months of fighting after which objective ``j`` is first
    fully taken (``inf`` if not within the horizon); ``casualties[side]`` is ``(months + 1, n)``:
    cumulative casualties after ``t`` months of fighting.
    """

    taken_month: Array
    casualties_at_taken: dict[str, Array]
    casualties: dict[str, Array]


def war_course(result: RunResult, levers: Mapping[str, float] | None = None) -> WarCourse:
    """Fight ``result``'s samples on its true paths (same seeds) for its horizon, with no deal."""
    sc, spec = result.scenario, result.spec
    st = structure_of(sc)
    seeds = Seeds.from_seed(spec.seed)
    months, paths = spec.horizon, spec.paths
    size = chunk_size_for(paths, months, "myopic")
    taken, at_taken, cumulative = [], [], []
    for lo in range(0, spec.samples, size):
        rows = np.arange(lo, min(lo + size, spec.samples))
        chunk_seeds = [seeds.path_seed(int(c)) for c in result.candidates[rows]]
        params = params_of(st, per_path({k: v[rows] for k, v in result.parameters.items()}, paths))
        progress, cum = fight_without_deal(st, params, chunk_seeds, paths, months, levers)
        n = progress.shape[1]
        first = np.full((n, st.n_objectives), np.inf)
        cas_first = {s: np.full((n, st.n_objectives), np.inf) for s in SIDES}
        for t in range(months + 1):
            done = (progress[t] >= 1.0) & np.isinf(first)
            first[done] = t
            for s in SIDES:
                cas_first[s] = np.where(done, cum[s][t][:, None], cas_first[s])
        taken.append(first)
        at_taken.append(cas_first)
        cumulative.append({s: cum[s] for s in SIDES})
    return WarCourse(
        taken_month=np.concatenate(taken),
        casualties_at_taken={s: np.concatenate([a[s] for a in at_taken]) for s in SIDES},
        casualties={s: np.concatenate([c[s] for c in cumulative], axis=1) for s in SIDES},
    )


# -- estimates with cluster-bootstrap weights ---------------------------------------------------


@dataclass(frozen=True)
class _Values:
    """A quantity as per-path values: a pooled statistic of ``values`` over the paths where ``valid``."""

    values: Array
    valid: NDArray[np.bool_]
    stat: str  # "mean" (probabilities are means of 0/1), "quantile"
    q: float = 0.5


def _path_values(q: Quantity, result: RunResult, course: WarCourse | None) -> _Values:
    o = result.outcomes
    objectives = [obj.id for obj in result.scenario.objectives]
    everywhere = np.ones(o.sample.size, dtype=bool)
    stat = "mean" if q.stat in ("P", "mean") else "quantile"
    level = 0.5 if q.stat == "median" else q.q
    if q.kind == "settle":
        hit = (o.first_settlement >= 0) & (o.first_settlement < (q.months or 0))
        if q.terms:
            index = [result.terms.index(t) for t in q.terms]
            hit &= np.isin(o.first_terms, index)
        return _Values(hit.astype(float), everywhere, "mean")
    if q.kind == "removed":
        month = o.removal_month[str(q.side)]
        return _Values(((month >= 0) & (month < (q.months or 0))).astype(float), everywhere, "mean")
    if q.kind == "holds":
        settled = o.first_settlement >= 0
        rate = np.where(settled, o.ceasefire_break_rate, 0.0)
        return _Values(np.where(settled, (1.0 - rate) ** (q.months or 0), 0.0), settled, "mean")
    if q.kind == "settle_month":
        settle: Array = np.where(o.first_settlement >= 0, o.first_settlement.astype(np.float64), np.inf)
        return _Values(settle, everywhere, stat, level)
    if q.kind == "casualties" and q.scope in ("until_settlement", "over_horizon"):
        data = o.casualties_to_settlement if q.scope == "until_settlement" else o.casualties_total
        return _Values(np.asarray(data[str(q.side)], dtype=np.float64), everywhere, stat, level)
    if course is None:  # pragma: no cover - check_claims computes it whenever a query needs it
        raise ValueError("this quantity needs the war fought on")
    if q.kind in ("taken", "take_month") or q.scope == "until_objective":
        j = objectives.index(str(q.objective))
        if q.kind == "taken":
            return _Values((course.taken_month[:, j] <= (q.months or 0)).astype(float), everywhere, "mean")
        if q.kind == "take_month":
            return _Values(course.taken_month[:, j], everywhere, stat, level)
        return _Values(course.casualties_at_taken[str(q.side)][:, j], everywhere, stat, level)
    months = int(q.months or 0)
    if months > course.casualties[str(q.side)].shape[0] - 1:
        return _Values(np.full(o.sample.size, np.nan), np.zeros(o.sample.size, dtype=bool), stat, level)
    return _Values(course.casualties[str(q.side)][months], everywhere, stat, level)


def _estimate(v: _Values, sample: NDArray[np.int64], weights: Array) -> Array:
    """The statistic under each row of sample weights ``(B, samples)``: ``(B,)``."""
    w_path = weights[:, sample] * v.valid[None, :]
    total = w_path.sum(axis=1)
    out = np.full(weights.shape[0], np.nan)
    ok = total > 0
    if v.stat == "mean":
        values = np.where(v.valid, v.values, 0.0)
        out[ok] = (w_path[ok] @ values) / total[ok]
        return out
    order = np.argsort(np.where(v.valid, v.values, np.inf), kind="stable")
    sorted_values = v.values[order]
    for lo in range(0, weights.shape[0], 64):
        rows = slice(lo, lo + 64)
        cum = np.cumsum(w_path[rows][:, order], axis=1)
        target = v.q * total[rows]
        index = np.array([np.searchsorted(c, t, side="left") for c, t in zip(cum, target, strict=True)])
        index = np.minimum(index, sorted_values.size - 1)
        out[rows] = np.where(ok[rows], sorted_values[index], np.nan)
    return out


def beyond_horizon(q: Quantity, horizon: int) -> str | None:
    """Why a run of ``horizon`` months cannot decide quantity ``q`` at all, or ``None`` when it can.

    A window of months (settlement, removal or an objective taken *within* N months, casualties during
    N months of war) is decided only if the run simulates all N months: a settlement in month 30 is
    unknown to a 24-month run, not absent.
    """
    months = q.months or 0
    windowed = q.kind in ("settle", "removed", "taken") or (q.kind == "casualties" and q.scope == "during_war")
    if windowed and months > horizon:
        return f"beyond the horizon: {months} months asked, {horizon} simulated"
    return None


def _holds(query: Query, x: float, horizon: int | None) -> bool | None:
    """Whether the claim's comparison holds at ``x``; ``None`` when ``x`` does not decide it.

    ``+inf`` is a month never reached within the horizon (a settlement or an objective after it): for the
    months of a settlement it stands for some month >= ``horizon``, for the months to take an objective for
    some month > ``horizon``; the comparison is decided only if it holds for all such months or for none.
    Any other infinity (a lever's change, casualties until an objective never taken) decides nothing.
    """
    if math.isnan(x):
        return None
    if not math.isinf(x):
        return query.holds(x)
    kind = query.quantity.kind
    if horizon is None or x < 0 or query.is_lever or kind not in ("settle_month", "take_month"):
        return None
    a, strict = float(horizon), kind == "take_month"  # the months possible: [a, inf), or (a, inf) if strict
    t = query.threshold
    above_all = {">": a > t or (strict and a >= t), ">=": a >= t}
    below_none = {"<": a >= t, "<=": a > t or (strict and a >= t)}
    if query.op in above_all:
        return True if above_all[query.op] else None
    return False if below_none[query.op] else None


def _verdict(query: Query, estimate: float, low: float, high: float, horizon: int | None = None) -> str:
    """supported, contradicted or undecided: by the interval's ends (see :func:`_holds`)."""
    if horizon is not None and beyond_horizon(query.quantity, horizon):
        return "undecided"
    if math.isnan(estimate):
        return "undecided"
    at_low, at_high = _holds(query, low, horizon), _holds(query, high, horizon)
    if at_low is True and at_high is True:
        return "supported"
    if at_low is False and at_high is False:
        return "contradicted"
    return "undecided"


judge = _verdict
"""The verdict rule, public for the dashboard's previews: ``judge(query, estimate, low, high, horizon)``."""


def _reason(query: Query, estimate: float, low: float, high: float, horizon: int) -> str | None:
    """Why a claim is undecided for want of months, if it is: the window or the infinite ends."""
    why = beyond_horizon(query.quantity, horizon)
    if why is not None:
        return why
    ends = [_holds(query, x, horizon) for x in (low, high)]
    if any(math.isinf(x) for x in (estimate, low, high)) and None in ends:
        return f"beyond the horizon: the value lies past month {horizon}, which the run does not reach"
    return None


def _rule(query: Query) -> str:
    what = "change" if query.is_lever else "estimate"
    inside = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}[query.op]
    return (
        f"{what} {query.op} {query.threshold:g}: supported if the whole {LEVEL:.0%} interval lies {inside} "
        f"{query.threshold:g}, contradicted if none of it does, else undecided"
    )


def _show(x: float, months: bool, horizon: int | None = None) -> str:
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        if x < 0:
            return "-inf"
        return "beyond horizon" if horizon is None else f"beyond horizon (> {horizon - 1})"
    if months:
        return f"{x:g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3f}"


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def evaluate(
    query: Query,
    base: RunResult,
    changed: RunResult | None,
    course: WarCourse | None,
    changed_course: WarCourse | None,
    weights: Array,
) -> tuple[float, float, float]:
    """Point estimate and bootstrap interval of a query's compared number.

    ``weights`` is ``(1 + B, samples)``: the first row all ones (the estimate), then the bootstrap
    resamples. For a lever claim the number is ``direction * (changed - base)``.
    """
    sample = base.outcomes.sample
    est = _estimate(_path_values(query.quantity, base, course), sample, weights)
    if query.is_lever:
        if changed is None:  # pragma: no cover - check_claims runs every lever setting
            raise ValueError("a lever claim needs the run with its levers")
        other = _estimate(_path_values(query.quantity, changed, changed_course), changed.outcomes.sample, weights)
        with np.errstate(invalid="ignore"):
            est = query.direction * (other - est)
    boot = est[1:]
    boot = boot[~np.isnan(boot)]
    if math.isnan(est[0]) or boot.size == 0:
        return float(est[0]), math.nan, math.nan
    tail = (1.0 - LEVEL) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail], method="inverted_cdf")
    return float(est[0]), float(low), float(high)


def runs_needed(scenario: Scenario) -> int:
    """Runs of the scenario's size that :func:`check_claims` keeps at once: the baseline, one per lever setting
    its claims name, and the war fought on (about one more) where a claim needs it."""
    queries = [parse_query(c.query) for c in scenario.claims]
    settings = {tuple(sorted(q.levers)) for q in queries if q.is_lever}
    course = any(q.quantity.needs_war_course for q in queries)
    return 1 + len(settings) + (1 + len(settings)) * course


def _key(q: Query) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(q.levers))


def claim_packages(scenario: Scenario) -> list[dict[str, float]]:
    """The lever packages the scenario's claims name, each once (for the lever study)."""
    keys = sorted({_key(parse_query(c.query)) for c in scenario.claims} - {()})
    return [dict(k) for k in keys]


def _joined_course(parts: Sequence[WarCourse]) -> WarCourse:
    return WarCourse(
        taken_month=np.concatenate([p.taken_month for p in parts]),
        casualties_at_taken={s: np.concatenate([p.casualties_at_taken[s] for p in parts]) for s in SIDES},
        casualties={s: np.concatenate([p.casualties[s] for p in parts], axis=1) for s in SIDES},
    )


@dataclass(frozen=True)
class _LeverRuns:
    """The lever study's batches joined for the lever claims: without levers, with each package, the
    war fought on where a claim needs it, and the bootstrap weights over the batches' samples."""

    base: RunResult
    runs: dict[tuple[tuple[str, float], ...], RunResult]
    courses: dict[tuple[tuple[str, float], ...], WarCourse]
    weights: Array
    sizes: dict[str, int]

    @classmethod
    def of(
        cls,
        study: Baselines,
        keys: Sequence[tuple[tuple[str, float], ...]],
        course_keys: set[tuple[tuple[str, float], ...]],
        seed: int,
        resamples: int,
        report: Callable[[str], Callable[[int, int], None] | None],
    ) -> _LeverRuns:
        runs = {k: joined(study.runs_with(dict(k), report(" + ".join(f"{lv}={x:g}" for lv, x in k)))) for k in keys}
        courses = {}
        for k in course_keys:
            per_batch = study.runs_with(dict(k)) if k else list(study.runs)
            courses[k] = _joined_course([war_course(r, dict(k)) for r in per_batch])
        base = joined(study.runs)
        sizes = {"lever_samples": study.samples, "lever_paths": study.spec.paths, "lever_batches": len(study.runs)}
        return cls(base, runs, courses, _bootstrap_weights(study.samples, seed, resamples), sizes)


def _bootstrap_weights(samples: int, seed: int, resamples: int) -> Array:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC1A1]))
    boot = rng.multinomial(samples, np.full(samples, 1.0 / samples), size=resamples).astype(float)
    return np.concatenate([np.ones((1, samples)), boot])


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

    A claim about levers is checked on the lever study
    (:func:`ceasefire.analysis.levers.lever_effects_within`: every lever of the scenario at
    intensity 1 and every package the claims name, on batches of ``lever_batch_samples`` x
    ``lever_paths`` added until each change's 95% interval is within ``lever_half_width``, up to
    ``lever_max_samples``; by default :func:`ceasefire.analysis.levers.study_sizes` of this run's
    sizes): a lever's effect varies mostly between parameter samples, so many
    samples decide it better than the headline run's paths, and the report's levers section shows
    the same numbers. ``lever_study``, those batches already run (with the claims' packages among
    its ``packages``), is used instead of running them again.
    """
    start = time.perf_counter()
    spec = RunSpec.from_scenario(scenario, samples=samples, paths=paths, seed=seed, horizon=horizon)
    spec.validate(scenario)
    queries = [(c, parse_query(c.query)) for c in scenario.claims]

    def report(label: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(label, done, total))

    if base is None:
        base = run(scenario, spec, progress=report("baseline"))
    elif base.scenario != scenario or base.spec != spec:
        raise ValueError(
            "base must be a run of the same scenario with the claims' sizes, seed and horizon, without levers "
            f"(claims: {spec.samples} x {spec.paths}, seed {spec.seed}, horizon {spec.horizon}; "
            f"base: {base.spec.samples} x {base.spec.paths}, seed {base.spec.seed}, horizon {base.spec.horizon})"
        )
    courses: dict[tuple[tuple[str, float], ...], WarCourse] = {}
    if any(q.quantity.needs_war_course and not q.is_lever for _, q in queries):
        courses[()] = war_course(base, {})
    weights = _bootstrap_weights(spec.samples, spec.seed, resamples)
    keys = sorted({_key(q) for _, q in queries if q.is_lever})
    lever: _LeverRuns | None = None
    if keys:
        if lever_study is None:
            batch, per, most = study_sizes(spec.samples, spec.paths)
            _, lever_study = lever_effects_within(
                scenario,
                half_width=lever_half_width,
                batch_samples=lever_batch_samples or batch,
                paths=lever_paths or per,
                max_samples=lever_max_samples or most,
                seed=spec.seed,
                horizon=spec.horizon,
                packages=[dict(k) for k in keys],
                progress=progress,
            )
        elif lever_study.scenario != scenario or lever_study.spec.horizon != spec.horizon:
            raise ValueError("lever_study must be batches of runs of the same scenario and horizon")
        course_keys = {k for _, q in queries if q.is_lever and q.quantity.needs_war_course for k in ((), _key(q))}
        lever = _LeverRuns.of(lever_study, keys, course_keys, spec.seed, resamples, report)

    results = []
    for claim, q in queries:
        key = _key(q)
        if q.is_lever and lever is not None:  # every lever claim's key is among those run
            estimate, low, high = evaluate(
                q, lever.base, lever.runs[key], lever.courses.get(()), lever.courses.get(key), lever.weights
            )
        else:
            estimate, low, high = evaluate(q, base, None, courses.get(()), None, weights)
        verdict = _verdict(q, estimate, low, high, spec.horizon)
        reason = _reason(q, estimate, low, high, spec.horizon) if verdict == "undecided" else None
        months = q.quantity.kind in ("settle_month", "take_month")
        h = spec.horizon
        shown = f"{_show(estimate, months, h)} [{_show(low, months, h)}, {_show(high, months, h)}]"
        if beyond_horizon(q.quantity, h):  # what was estimated is another quantity (a shorter window)
            shown = f"n/a ({beyond_horizon(q.quantity, h)})"
            estimate = low = high = math.nan
        results.append(
            ClaimResult(
                id=claim.id,
                source=claim.source,
                asserts=claim.asserts,
                query=claim.query,
                quantity=("change in " if q.is_lever else "") + q.quantity.describe(),
                estimate=_finite(estimate),
                low=_finite(low),
                high=_finite(high),
                verdict=verdict,
                rule=_rule(q),
                display=shown,
                reason=reason,
            )
        )
    return ClaimsReport(
        scenario=scenario.scenario.id,
        claims=tuple(results),
        inconsistencies=tuple(check_consistency(scenario)),
        seconds=time.perf_counter() - start,
        sizes={
            "samples": spec.samples,
            "paths": spec.paths,
            "horizon": spec.horizon,
            "seed": spec.seed,
            "runs": 1 + len(keys),  # the run without levers, then one setting per lever package
            "bootstrap": resamples,
            **(lever.sizes if lever is not None else {}),
        },
    )


def claims_table(report: ClaimsReport) -> Sequence[dict[str, Any]]:
    """Rows for a table: id, source, quantity, estimate [interval], verdict."""
    return [
        {"id": c.id, "source": c.source, "quantity": c.quantity, "estimate": c.display, "verdict": c.verdict}
        for c in report.claims
    ]
