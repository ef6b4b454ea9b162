"""What the HTML report shows, computed: the headline run, the war's course and the analyses.

:func:`compute_report` runs everything and returns :class:`ReportData` (plain dicts and lists,
and the scenario); :mod:`ceasefire.report.html` only renders it. The sections agree with each
other by construction:

- **the headline run** (the scenario's ``[run]`` sizes unless given) is the reference: every
  section that quotes a probability without levers quotes this run's;
- **claims** are checked on the headline run itself (``check_claims(base=headline)``), and the
  claims about levers on the lever study below (which includes the packages they name), so at the
  default sizes their verdicts are those of ``ceasefire claims``;
- **levers**: the changes are measured on the claims' lever study (batches of many samples with
  fewer paths each: :mod:`ceasefire.analysis.claims`); a probability *with* a lever is the headline's
  level plus that change. The two-lever grid and the price of peace's confirmation are simulated
  on the same batches, and the price of peace is stated against the headline's level;
- **the war's course** needs every path's monthly trajectory, so it comes from a recorded run of
  at most ``course_samples`` x ``course_paths``; **why** is ``ceasefire explain`` at its default
  sizes (unless ``why_*`` say otherwise), and **sensitivity** and the price of peace's search
  evaluate the model many times at ``analysis_samples`` x ``analysis_paths``. Each section
  states its sizes.

One progress callback covers the whole report: ``progress(stage, done, total)`` with ``done``
out of :data:`PROGRESS_TOTAL`, never going back.
"""

from __future__ import annotations

import datetime as dt
import math
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from itertools import accumulate
from typing import Any

import numpy as np

from ceasefire import __version__
from ceasefire.analysis import curves
from ceasefire.analysis.frames import spec_fields
from ceasefire.analysis.report_data import ANALYSIS_SECTIONS, PROGRESS_TOTAL, Progress, ReportData, ReportOptions
from ceasefire.errors import CeasefireError
from ceasefire.model.calculus import other
from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.summary import belief_effect, summarize
from ceasefire.scenario.load import load_scenario, scenario_hash
from ceasefire.scenario.schema import SIDES, Scenario

__all__ = ["ANALYSES", "compute_report", "course_data", "output_label", "run_curves"]

Stage = Callable[[int, int], None]

# -- progress over the whole report -------------------------------------------------------------

WEIGHTS = {
    "headline": 0.14,
    "true beliefs": 0.1,
    "course": 0.02,
    "levers": 0.4,
    "claims": 0.06,
    "why": 0.2,
    "sensitivity": 0.08,
}
"""Each stage's rough share of the report's time at the default sizes (the progress bar's steps)."""


class _Overall:
    """Maps each stage's own ``(done, total)`` onto one count of :data:`PROGRESS_TOTAL` that only goes forward."""

    def __init__(self, progress: Progress | None, stages: list[str]) -> None:
        self.progress = progress
        weights = {s: WEIGHTS.get(s, 0.05) for s in stages}
        scale = sum(weights.values()) or 1.0
        self.share = {s: weights[s] / scale for s in stages}
        self.start = dict(zip(stages, accumulate(self.share.values(), initial=0.0), strict=False))
        self.shown = 0

    def _emit(self, label: str, fraction: float) -> None:
        count = max(self.shown, min(PROGRESS_TOTAL, round(PROGRESS_TOTAL * fraction)))
        self.shown = count
        if self.progress is not None:
            self.progress(label, count, PROGRESS_TOTAL)

    def stage(self, name: str, label: str | None = None) -> Stage:
        """A ``(done, total)`` callback for stage ``name``."""
        return lambda done, total: self._emit(
            label or name, self.start[name] + self.share[name] * (done / total if total else 0.0)
        )

    def labelled(self, name: str, prefix: str = "") -> Progress:
        """A ``(label, done, total)`` callback for stage ``name``, whose sub-steps restart their counts:
        each sub-step is taken to cover what is left of the stage, halved, so the count never goes back."""
        last: dict[str, Any] = {"label": None, "base": self.start[name]}

        def report(label: str, done: int, total: int) -> None:
            end = self.start[name] + self.share[name]
            label = prefix + label
            if label != last["label"]:
                last["label"], last["base"] = label, max(last["base"], self.shown / PROGRESS_TOTAL)
            room = (end - last["base"]) / 2
            self._emit(label, last["base"] + room * (done / total if total else 0.0))

        return report

    def finish(self, name: str) -> None:
        self._emit(name, self.start[name] + self.share[name])


# -- the model run ------------------------------------------------------------------------------


def run_curves(result: RunResult) -> dict[str, Any]:
    """:func:`~ceasefire.analysis.curves.settlement_curves` of a run's outcomes."""
    o = result.outcomes
    return curves.settlement_curves(o.first_settlement, o.sample, result.spec.samples, result.spec.horizon)


def _survival(result: RunResult) -> dict[str, Any]:
    o = result.outcomes
    cf = o.first_settlement >= 0
    months = max(60, result.spec.horizon)
    return curves.ceasefire_survival(o.ceasefire_break_rate[cf], o.ceasefire_months[cf], o.ceasefire_broke[cf], months)


def course_data(result: RunResult, headline: RunResult | None = None) -> dict[str, Any]:
    """Territory, casualties, at-war share and the leaders' gaps from a recorded run; the office
    hazards from ``headline`` (removals need no recording, and it has more paths) if given.

    Each leader's gap is fighting on minus the deal within reach (:func:`ceasefire.analysis.curves.gap_bands`
    with the other leader's gains), the reference of the why section.
    """
    o, sc = result.outcomes, result.scenario
    removals = (headline or result).outcomes.removal_month
    tr = o.trajectories  # compute_report records the run
    names = {s: sc.sides[s].name for s in SIDES}  # type: ignore[index]
    leaders = {s: sc.leaders[s].name for s in SIDES}  # type: ignore[index]
    out: dict[str, Any] = {
        **spec_fields(result.spec, "samples", "paths"),
        "held_km2": curves.course_bands(tr["held_km2"]),
        "casualties": {names[s]: curves.course_bands(tr[f"casualties_{s}"]) for s in SIDES},
        "at_war": tr["at_war"].mean(axis=1).tolist(),
        "hazard": {leaders[s]: curves.office_hazard(removals[s], result.spec.horizon) for s in SIDES},
        "hazard_paths": int(removals["A"].size),
        "hazard_recorded": any(k.startswith("hazard") for k in tr),
        "names": names,
        "leaders": leaders,
    }
    gains = {s: {t: tr[f"gain_{s}_{t}"] for t in result.terms if f"gain_{s}_{t}" in tr} for s in SIDES}
    out["gaps"] = {
        leaders[s]: curves.gap_bands(gains[s], tr["at_war"], gains[other(s)])
        for s in SIDES
        if gains[s] and len(gains[s]) == len(gains[other(s)])
    }
    return out


# -- the analyses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every analysis runner gets: the scenario, the options, the headline run and its progress."""

    scenario: Scenario
    options: ReportOptions
    headline: RunResult
    progress: _Overall
    shared: dict[str, Any] = field(default_factory=dict)  # what one analysis computes for another

    @property
    def spec(self) -> RunSpec:
        return self.headline.spec


AnalysisRunner = Callable[[_Context], dict[str, Any]]
ANALYSES: dict[str, AnalysisRunner] = {}
"""Per analysis section, the function that computes its data (registered below)."""


def _run_why(ctx: _Context) -> dict[str, Any]:
    """Each leader's calculus at month 0: ``ceasefire explain`` at its default sizes unless told."""
    from ceasefire.analysis import explain as ex

    o, out = ctx.options, {}
    for side in SIDES:
        e = ex.explain(
            ctx.scenario,
            side=side,
            month=0,
            samples=o.why_samples or ex.DEFAULT_SAMPLES,
            paths=o.why_paths or ex.DEFAULT_PATHS,
            seed=ctx.spec.seed,
            horizon=min(ctx.spec.horizon, ex.DEFAULT_HORIZON),
            progress=ctx.progress.stage("why", f"why: {ctx.scenario.leaders[side].name}'s coalitions"),  # type: ignore[index]
        ).to_dict()
        e["compared_value"] = None if e["gap"] is None else e["fight_value"] - e["gap"]
        out[side] = e
    return out


def _headline_levels(headline: RunResult) -> dict[str, Any]:
    """The headline's probabilities without levers, as the lever study's reference."""
    from ceasefire.analysis.levers import Tally, level

    t = Tally.of_run(headline)
    return spec_fields(headline.spec, "samples", "paths") | {q: asdict(level(t, q)) for q in ("p12", "p24")}


def _study_sizes(ctx: _Context) -> tuple[int, int, int]:
    """The lever study's batch samples, paths and samples at most: the options', else those
    ``ceasefire claims`` derives from the headline's sizes."""
    from ceasefire.analysis.levers import study_sizes

    o = ctx.options
    batch, paths, most = study_sizes(ctx.spec.samples, ctx.spec.paths)
    return o.lever_batch_samples or batch, o.lever_paths or paths, o.lever_max_samples or most


def _lever_study(ctx: _Context, stage: Progress) -> tuple[Any, Any]:
    """The study ``check_claims`` runs (:func:`ceasefire.analysis.claims.run_lever_study`), so the levers
    section and the lever claims show the same numbers."""
    from ceasefire.analysis.claims import run_lever_study

    if "lever_study" not in ctx.shared:
        ctx.shared["lever_study"] = run_lever_study(ctx.scenario, ctx.spec, ctx.options.lever_half_width,
                                                    _study_sizes(ctx), stage)  # fmt: skip
    return ctx.shared["lever_study"]  # type: ignore[no-any-return]


def _run_levers(ctx: _Context) -> dict[str, Any]:
    from ceasefire.analysis.claims import claim_packages
    from ceasefire.analysis.levers import lever_grid

    sc = ctx.scenario
    stage = ctx.progress.labelled("levers")
    effects, batches = _lever_study(ctx, stage)
    reference = _headline_levels(ctx.headline)
    out: dict[str, Any] = {
        "effects": effects.to_dict(),
        "reference": reference,
        "widest": effects.reached,
        "packages": claim_packages(sc),
    }

    def change(r: Any) -> float:  # within 24 months, or 12 under a shorter horizon
        d = r.d_p24 if effects.horizon >= 24 else r.d_p12
        return float(d) if math.isfinite(d) else 0.0

    raising = sorted((r for r in effects.rows if change(r) > 0), key=lambda r: -change(r))
    pair = raising[:2] if len(raising) >= 2 else sorted(effects.rows, key=lambda r: -abs(change(r)))[:2]
    if len(pair) == 2:
        grid = lever_grid(
            sc,
            pair[0].lever,
            pair[1].lever,
            intensities=(pair[0].intensity,),
            intensities_b=(pair[1].intensity,),
            baseline=batches,
            progress=lambda d, t: stage("levers: two levers together", d, t),
        )
        out["grid"] = grid.to_dict()
    price = _price(ctx, effects, batches, reference)
    if price is not None:
        out["price"] = price
    return out


def _price(ctx: _Context, effects: Any, batches: Any, reference: Mapping[str, Any]) -> dict[str, Any] | None:
    """The cheapest package of the levers that raise P(settlement within 12 months), for the headline's
    level plus 10 points; searched on small runs, confirmed on the lever study's batches."""
    from ceasefire.analysis.price import price_of_peace

    sc, o, spec = ctx.scenario, ctx.options, ctx.spec
    if spec.horizon < 12:
        return None
    units: dict[str, list[str]] = {}
    raising = {r.lever for r in effects.rows if r.d_p12 > 0}
    for lv in sc.levers:
        if lv.id in raising:
            units.setdefault(lv.cost_unit, []).append(lv.id)
    if not units:
        return None
    levers = max(units.values(), key=len)
    target = round(reference["p12"]["value"] + 0.1, 2)
    if not 0.0 < target < 1.0:
        return None
    price = price_of_peace(
        sc,
        target,
        within=12,
        levers=levers,
        **spec_fields(spec, "seed", "horizon", "policy"),
        search_samples=o.analysis_samples,
        search_paths=o.analysis_paths,
        maxiter=o.price_maxiter,
        screen=False,
        confirm=batches,
        reference=ctx.headline,
        progress=ctx.progress.labelled("levers", "price of peace: "),
    )
    data = price.to_dict()
    data["names"] = {lv.id: lv.name for lv in sc.levers}
    return data


def _run_claims(ctx: _Context) -> dict[str, Any]:
    from ceasefire.analysis.claims import check_claims

    sizes = spec_fields(ctx.spec, "samples", "paths", "seed", "horizon")
    claims_spec = RunSpec.from_scenario(ctx.scenario, **sizes)
    o = ctx.options
    study = ctx.shared.get("lever_study")
    result = check_claims(
        ctx.scenario,
        **sizes,
        progress=ctx.progress.labelled("claims", "claims: "),
        base=ctx.headline if ctx.headline.spec == claims_spec else None,
        lever_study=None if study is None else study[1],
        lever_half_width=o.lever_half_width,
        lever_batch_samples=o.lever_batch_samples,
        lever_paths=o.lever_paths,
        lever_max_samples=o.lever_max_samples,
    )
    data = result.to_dict()
    data["reference"] = _headline_levels(ctx.headline)
    return data


def output_label(name: str) -> str:
    """A sweep metric's name in words: ``p_settle_12`` -> "P(settlement within 12 months)"."""
    if name.startswith("p_settle_"):
        months = name.removeprefix("p_settle_")
        return "P(settlement within the horizon)" if months == "horizon" else f"P(settlement within {months} months)"
    from ceasefire.run.sweep import METRICS

    metric = METRICS.get(name)
    return metric.description if metric is not None else name


def _run_sensitivity(ctx: _Context) -> dict[str, Any]:
    from ceasefire.analysis.sensitivity import DEFAULT_OUTPUT, sensitivity

    # P(settlement within the horizon) by default: it varies under Model 2, the 12 months' does not
    output = ctx.options.sensitivity_output or DEFAULT_OUTPUT
    result = sensitivity(
        ctx.scenario,
        output=output,
        method="morris",
        n=ctx.options.morris_trajectories,
        paths=ctx.options.analysis_paths,
        seed=ctx.spec.seed,
        horizon=ctx.spec.horizon,
        progress=ctx.progress.stage("sensitivity", "sensitivity: Morris screen"),
    )
    data = result.to_dict()
    data["output_label"] = output_label(output)
    return data


ANALYSES.update(why=_run_why, levers=_run_levers, claims=_run_claims, sensitivity=_run_sensitivity)
ORDER = ("levers", "claims", "why", "sensitivity")
"""The order the analyses are computed in: the claims reuse the levers' study."""


# -- the whole report ---------------------------------------------------------------------------


def compute_report(
    name_or_path: str, options: ReportOptions | None = None, progress: Progress | None = None
) -> ReportData:
    """Run the scenario and the analyses asked for; everything the report shows.

    Raises :class:`ceasefire.errors.CeasefireError` (bad scenario) or ``ValueError`` (bad sizes).
    """
    options = options or ReportOptions()
    start = time.perf_counter()
    sc = load_scenario(name_or_path)
    digest = scenario_hash(name_or_path)
    spec = RunSpec.from_scenario(
        sc, samples=options.samples, paths=options.paths, seed=options.seed, horizon=options.horizon
    )
    course_samples, course_paths = min(options.course_samples, spec.samples), min(options.course_paths, spec.paths)
    same_size = (course_samples, course_paths) == (spec.samples, spec.paths)
    spec = replace(spec, record=same_size)  # run() checks it first
    stages = ["headline"] + (["true beliefs"] if options.compare_beliefs else []) + ["course"]
    stages += [s for s in ORDER if s in options.sections]
    overall = _Overall(progress, stages)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    result = run(sc, spec, progress=overall.stage("headline", "headline run"))
    timings["headline run"] = time.perf_counter() - t
    overall.finish("headline")
    summary = summarize(result)
    curves_true = None
    if options.compare_beliefs:
        t = time.perf_counter()
        other = run(
            sc,
            replace(spec, beliefs="true", record=False),
            progress=overall.stage("true beliefs", "the same samples with true beliefs"),
            samples_of=result,
        )
        timings["run with true beliefs"] = time.perf_counter() - t
        summary = replace(summary, optimism_effect=belief_effect(result, other))
        curves_true = run_curves(other)
        overall.finish("true beliefs")
    if same_size:
        recorded = result
    else:
        t = time.perf_counter()
        recorded = run(
            sc,
            replace(spec, samples=course_samples, paths=course_paths, record=True),
            progress=overall.stage("course", "recording the war's course"),
        )
        timings["recorded run (course)"] = time.perf_counter() - t
    overall.finish("course")

    ctx = _Context(sc, options, result, overall)
    analyses: dict[str, dict[str, Any]] = {}
    unavailable = {s: "left out on request" for s in ANALYSIS_SECTIONS if s not in options.sections}
    for section in ORDER:
        if section not in options.sections:
            continue
        t = time.perf_counter()
        try:
            analyses[section] = ANALYSES[section](ctx)
        except ImportError as e:
            unavailable[section] = f"the analysis module is not available ({e})"
        except (CeasefireError, ValueError) as e:  # e.g. a scenario without [[factors]] has nothing to explain
            unavailable[section] = f"{type(e).__name__}: {e}"
        else:
            timings[f"analysis: {section}"] = time.perf_counter() - t
        overall.finish(section)

    run_info = {
        "version": __version__,
        "scenario": sc.scenario.id,
        "scenario_file": str(name_or_path),
        "scenario_sha256": digest,
        **spec_fields(spec, "seed", "samples"),
        "samples_drawn": result.samples_drawn,
        **spec_fields(spec, "paths", "horizon", "lookahead", "policy", "beliefs"),
        "course_samples": recorded.spec.samples,
        "course_paths": recorded.spec.paths,
        **spec_fields(options, "why_samples", "why_paths", "analysis_samples", "analysis_paths", "lever_half_width"),
        **dict(zip(("lever_batch_samples", "lever_paths", "lever_max_samples"), _study_sizes(ctx), strict=True)),
        "morris_trajectories": options.morris_trajectories,
        "sections": list(options.sections),
        "timings": timings,
        "seconds": time.perf_counter() - start,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    return ReportData(
        scenario=sc,
        summary=summary.to_dict(),
        curves=run_curves(result),
        curves_true_beliefs=curves_true,
        survival=_survival(result),
        course=course_data(recorded, result),
        analyses=analyses,
        unavailable=unavailable,
        run_info=run_info,
    )
