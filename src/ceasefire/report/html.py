"""The HTML report: one self-contained file (Plotly's JavaScript embedded once, no network).

Three layers, each usable alone:

- :func:`compute_report` runs the model (and the analyses asked for) and returns
  :class:`ReportData`, plain dicts and lists;
- the ``*_section`` functions turn one part of that data into a :class:`Section` (an HTML
  fragment with its figures; each analysis section takes the analysis' ``to_dict()``);
- :func:`render_report` assembles the sections into one page and :func:`write_report` writes it
  atomically.

Everything taken from the scenario or the analyses is HTML-escaped; figures come from the pure
builders of :mod:`ceasefire.report.figures`.
"""

from __future__ import annotations

import datetime as dt
import html
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ceasefire import __version__
from ceasefire.errors import CeasefireError
from ceasefire.report import figures
from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.summary import belief_effect, summarize
from ceasefire.scenario.load import load_scenario, scenario_hash
from ceasefire.scenario.params import ASSUMPTION
from ceasefire.scenario.schema import SIDES, Scenario, iter_params

CORE_SECTIONS = ("headline", "course", "parameters", "run")
"""Sections made from the model run alone; always in the report."""
ANALYSIS_SECTIONS = ("why", "levers", "claims", "sensitivity")
"""Sections made by the analysis modules; each may be left out (``sections=``)."""
SECTION_TITLES = {
    "headline": "When does the war end?",
    "course": "The war's course",
    "why": "Why: each leader's gap between fighting on and the best deal",
    "levers": "What would change it: levers and the price of peace",
    "claims": "Which claims hold",
    "sensitivity": "Which assumptions matter",
    "parameters": "Every parameter and its source",
    "run": "How this report was made",
}

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: what the report is computing."""


@dataclass(frozen=True)
class ReportOptions:
    """What to compute: run sizes and sections.

    ``samples``/``paths``/``seed``/``horizon`` default to the scenario's run sizes. The war's course
    needs every path's monthly trajectory, which is memory-hungry at full size, so it comes from a
    separate recorded run of at most ``course_samples`` x ``course_paths`` (same seed); the
    analyses run at ``analysis_samples`` x ``analysis_paths`` (they evaluate the model many times).
    """

    samples: int | None = None
    paths: int | None = None
    seed: int | None = None
    horizon: int | None = None
    course_samples: int = 40
    course_paths: int = 50
    analysis_samples: int = 12
    analysis_paths: int = 24
    compare_beliefs: bool = True
    sections: tuple[str, ...] = ANALYSIS_SECTIONS

    def __post_init__(self) -> None:
        unknown = [s for s in self.sections if s not in ANALYSIS_SECTIONS]
        if unknown:
            raise ValueError(
                f"unknown report section(s) {', '.join(unknown)}; "
                f"the optional sections are {', '.join(ANALYSIS_SECTIONS)}"
            )
        for name in ("course_samples", "course_paths", "analysis_samples", "analysis_paths"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive whole number, got {getattr(self, name)}")


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str  # HTML fragment


@dataclass(frozen=True)
class ReportData:
    """What the report shows, computed: JSON-friendly dicts, and the scenario itself."""

    scenario: Scenario
    scenario_name: str
    scenario_sha256: str
    summary: dict[str, Any]
    curves: dict[str, Any]
    curves_true_beliefs: dict[str, Any] | None
    survival: dict[str, Any]
    course: dict[str, Any]
    analyses: dict[str, dict[str, Any]]
    unavailable: dict[str, str]  # analysis section -> why it is not in the report
    run_info: dict[str, Any] = field(default_factory=dict)


# -- computing ----------------------------------------------------------------------------------


def _curves(result: RunResult) -> dict[str, Any]:
    o = result.outcomes
    return figures.settlement_curves(o.first_settlement, o.sample, result.spec.samples, result.spec.horizon)


def _survival(result: RunResult) -> dict[str, Any]:
    o = result.outcomes
    cf = o.first_settlement >= 0
    months = max(60, result.spec.horizon)
    return figures.ceasefire_survival(o.ceasefire_break_rate[cf], o.ceasefire_months[cf], o.ceasefire_broke[cf], months)


def course_data(result: RunResult, headline: RunResult | None = None) -> dict[str, Any]:
    """Territory, casualties, at-war share and the leaders' gaps from a recorded run; the office
    hazards from ``headline`` (removals need no recording, and it has more paths) if given."""
    o, sc = result.outcomes, result.scenario
    removals = (headline or result).outcomes.removal_month
    tr = o.trajectories
    if not tr:
        raise ValueError("the war's course needs a run with record=True (monthly trajectories)")
    names = {s: sc.sides[s].name for s in SIDES}  # type: ignore[index]
    leaders = {s: sc.leaders[s].name for s in SIDES}  # type: ignore[index]
    out: dict[str, Any] = {
        "samples": result.spec.samples,
        "paths": result.spec.paths,
        "held_km2": figures.course_bands(tr["held_km2"]),
        "casualties": {names[s]: figures.course_bands(tr[f"casualties_{s}"]) for s in SIDES},
        "at_war": tr["at_war"].mean(axis=1).tolist(),
        "hazard": {leaders[s]: figures.office_hazard(removals[s], result.spec.horizon) for s in SIDES},
        "hazard_paths": int(removals["A"].size),
        "hazard_recorded": any(k.startswith("hazard") for k in tr),
        "names": names,
        "leaders": leaders,
    }
    gaps = {}
    for s in SIDES:
        gains = {k: v for k, v in tr.items() if k.startswith(f"gain_{s}_")}
        if gains:
            gaps[leaders[s]] = figures.gap_bands(gains, tr["at_war"])
    out["gaps"] = gaps
    return out


def _stage(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)


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
    spec = replace(spec, record=same_size)
    spec.validate(sc)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    result = run(sc, spec, progress=_stage(progress, "simulating"))
    timings["model run"] = time.perf_counter() - t
    summary = summarize(result)
    curves_true = None
    if options.compare_beliefs:
        t = time.perf_counter()
        other = run(
            sc,
            replace(spec, beliefs="true", record=False),
            progress=_stage(progress, "true beliefs"),
            samples_of=result,
        )
        timings["run with true beliefs"] = time.perf_counter() - t
        summary = replace(summary, optimism_effect=belief_effect(result, other))
        curves_true = _curves(other)
    if same_size:
        recorded = result
    else:
        t = time.perf_counter()
        recorded = run(
            sc,
            replace(spec, samples=course_samples, paths=course_paths, record=True),
            progress=_stage(progress, "recording the course"),
        )
        timings["recorded run (course)"] = time.perf_counter() - t

    analyses: dict[str, dict[str, Any]] = {}
    unavailable: dict[str, str] = {}
    for section in ANALYSIS_SECTIONS:
        if section not in options.sections:
            unavailable[section] = "left out on request"
            continue
        if section not in ANALYSES:
            unavailable[section] = "no analysis registered for this section"
            continue
        t = time.perf_counter()
        try:
            analyses[section] = ANALYSES[section](sc, options, spec, progress)
        except ImportError as e:
            unavailable[section] = f"the analysis module is not available ({e})"
            continue
        except (CeasefireError, ValueError) as e:  # e.g. a scenario without [[factors]] has nothing to explain
            unavailable[section] = f"{type(e).__name__}: {e}"
            continue
        timings[f"analysis: {section}"] = time.perf_counter() - t

    run_info = {
        "version": __version__,
        "scenario": sc.scenario.id,
        "scenario_file": str(name_or_path),
        "scenario_sha256": digest,
        "seed": spec.seed,
        "samples": spec.samples,
        "samples_drawn": result.samples_drawn,
        "paths": spec.paths,
        "horizon": spec.horizon,
        "lookahead": spec.lookahead,
        "policy": spec.policy,
        "beliefs": spec.beliefs,
        "course_samples": recorded.spec.samples,
        "course_paths": recorded.spec.paths,
        "analysis_samples": options.analysis_samples,
        "analysis_paths": options.analysis_paths,
        "sections": list(options.sections),
        "timings": timings,
        "seconds": time.perf_counter() - start,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    return ReportData(
        scenario=sc,
        scenario_name=str(name_or_path),
        scenario_sha256=digest,
        summary=summary.to_dict(),
        curves=_curves(result),
        curves_true_beliefs=curves_true,
        survival=_survival(result),
        course=course_data(recorded, result),
        analyses=analyses,
        unavailable=unavailable,
        run_info=run_info,
    )


AnalysisRunner = Callable[[Scenario, ReportOptions, RunSpec, "Progress | None"], dict[str, Any]]
"""``runner(scenario, options, headline spec, progress)``: the analyses use the headline run's seed and horizon."""
ANALYSES: dict[str, AnalysisRunner] = {}
"""Per analysis section, the function that runs it and returns its ``to_dict()`` (registered below)."""
ANALYSIS_RENDERERS: dict[str, Callable[[Mapping[str, Any], Scenario], Section]] = {}
"""Per analysis section, the function that renders its dict (registered below)."""


# -- HTML helpers -------------------------------------------------------------------------------


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def figure_html(fig: Any, name: str) -> str:
    """A figure as an HTML fragment without Plotly's JavaScript (the page embeds it once)."""
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig-{name}",
            config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]},
        )
    )


def table_html(header: Sequence[str], rows: Iterable[Sequence[object]], cls: str = "") -> str:
    """An HTML table; every cell is escaped unless it is a :class:`Raw`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Raw(str):
    """Text already in HTML (not escaped again)."""


def _cell(c: object) -> str:
    return str(c) if isinstance(c, Raw) else esc(c)


def _pct(p: float | None, digits: int = 1) -> str:
    return "n/a" if p is None else f"{100 * p:.{digits}f}%"


def _count(s: Mapping[str, float]) -> str:
    return f"{s['median']:,.0f} [{s['p05']:,.0f} – {s['p95']:,.0f}]"


def _month_label(start: str, month: int) -> str:
    d = dt.date.fromisoformat(start)
    y, m = divmod(d.month - 1 + month, 12)
    return f"{d.year + y}-{m + 1:02d}"


def _card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
        f'<div class="note">{esc(note)}</div></div>'
    )


# -- sections from the model run ----------------------------------------------------------------


def headline_section(
    summary: Mapping[str, Any],
    curves: Mapping[str, Any],
    survival: Mapping[str, Any],
    scenario: Scenario,
    curves_true: Mapping[str, Any] | None = None,
) -> Section:
    """The headline: settlement by month (fan chart), median month, casualties, terms, ceasefire survival."""
    s = summary
    within = s["settle_within"]
    cards = []
    for label in ("12 months", "24 months", "horizon"):
        if label in within:
            p = within[label]
            shown = f"within {s['horizon']} months" if label == "horizon" else f"within {label}"
            cards.append(
                _card(
                    f"settlement {shown}",
                    _pct(p["p"]),
                    f"± {100 * p['se']:.1f} (MC s.e.); {_pct(p['sample_p05'], 0)}–{_pct(p['sample_p95'], 0)} "
                    "over parameter samples",
                )
            )
    if s["median_month"] is not None:
        cards.append(
            _card(
                "median month of settlement",
                _month_label(s["start"], s["median_month"]),
                f"month {s['median_month']} from the start",
            )
        )
    else:
        cards.append(_card("median month of settlement", "after the horizon", f"{s['horizon']} months"))
    for side in SIDES:
        cards.append(
            _card(
                f"casualties {s['side_names'][side]} until settlement",
                f"{s['casualties_to_settlement'][side]['median']:,.0f}",
                f"median; 5–95%: {s['casualties_to_settlement'][side]['p05']:,.0f} – "
                f"{s['casualties_to_settlement'][side]['p95']:,.0f}",
            )
        )
    for label, holds in s["ceasefire_holds"].items():
        cards.append(_card(f"a ceasefire still holds after {label}", _pct(holds), "model, mean over ceasefires"))
    effect = s.get("optimism_effect")
    if effect:
        cards.append(
            _card(
                "delay due to mutual optimism",
                f"{effect['delay_months']:+.1f} months",
                f"within 24 months: {_pct(effect['settle_within_24_scenario'])} with the leaders' beliefs, "
                f"{_pct(effect['settle_within_24_true'])} if both saw the true model",
            )
        )
    names = {t.id: t.name for t in scenario.terms}
    fan = figures.settlement_fan(curves, s["start"], curves_true, "pooled, if both leaders saw the true model")
    lead = (
        f"<p>{esc(s['title'])}: {s['samples']} parameter samples × {s['paths']} paths, seed {s['seed']}, "
        f"{esc(s['policy'])} policy. Months are counted from {esc(s['start'])} (month 0). The bands show how much "
        "the answer depends on the uncertain parameters (each sample's own curve); the solid line pools all paths."
        "</p>"
    )
    removed = "; ".join(
        f"{esc(s['leader_names'][side])} loses office: {_pct(s['removed'][side]['p'])}" for side in SIDES
    )
    body = (
        lead
        + f'<div class="cards">{"".join(cards)}</div>'
        + figure_html(fan, "settlement")
        + '<div class="pair">'
        + figure_html(figures.terms_bar(s["terms_agreed"], names), "terms")
        + figure_html(figures.survival_chart(survival), "survival")
        + "</div>"
        + f"<p>Within the horizon: {removed}; first settlement signed by a successor: "
        f"{_pct(s['under_successor'])}.</p>"
    )
    return Section("headline", SECTION_TITLES["headline"], body)


def course_section(course: Mapping[str, Any], summary: Mapping[str, Any]) -> Section:
    """Territory, casualties, the leaders' hazard of losing office and their gaps, month by month."""
    names, leaders = course["names"], course["leaders"]
    colours = {names[s]: figures.SIDE_COLOURS[s] for s in SIDES} | {leaders[s]: figures.SIDE_COLOURS[s] for s in SIDES}
    held = figures.course_chart(
        {f"held by {names['A']}": course["held_km2"]},
        "Territory held by A (km²)",
        "km²",
        {f"held by {names['A']}": figures.SIDE_COLOURS["A"]},
    )
    cas = figures.course_chart(course["casualties"], "Cumulative casualties", "casualties", colours)
    hazard = figures.hazard_chart(course["hazard"], colours)
    parts = [
        f"<p>From a recorded run of {course['samples']} samples × {course['paths']} paths (same seed); medians and "
        "5–95% bands over all paths. After a settlement the line is frozen and casualties stop unless the ceasefire "
        "breaks down.</p>",
        '<div class="pair">',
        figure_html(held, "territory"),
        figure_html(cas, "casualties"),
        "</div>",
        '<div class="pair">',
        figure_html(hazard, "hazard"),
    ]
    if course["gaps"]:
        parts.append(figure_html(figures.gap_chart(course["gaps"], colours), "gaps"))
    parts.append("</div>")
    note = (
        f"The hazard is estimated from the simulated removals on the {course.get('hazard_paths', 0):,} paths of the "
        "headline run (incumbents removed in a month over incumbents still in office); the engine does not record "
        "each leader's modelled hazard per month."
        if not course.get("hazard_recorded")
        else ""
    )
    if note:
        parts.append(f'<p class="small">{esc(note)}</p>')
    rng = summary.get("bargaining_range") or []
    if rng:
        rows = rng if len(rng) <= 14 else rng[:: -(-len(rng) // 14)]
        parts.append("<h3>Bargaining range (Fearon): shares of the disputed stake to A that both prefer to war</h3>")
        parts.append(
            table_html(
                ["month", "paths at war", "range exists", "terms in it", "A accepts from", "B accepts up to"],
                [
                    (
                        f"{r['month']} ({_month_label(summary['start'], r['month'])})",
                        _pct(r["at_war"], 0),
                        _pct(r["exists"]),
                        _pct(r.get("on_table"), 0),
                        f"{r['low']:.2f}",
                        f"{r['high']:.2f}",
                    )
                    for r in rows
                ],
                "num",
            )
        )
    return Section("course", SECTION_TITLES["course"], "".join(parts))


def parameters_section(scenario: Scenario) -> Section:
    """Every parameter with its value or distribution and its source; then the sources."""
    rows = []
    for path, p in iter_params(scenario):
        value = p.describe() + (f" {p.unit}" if p.unit else "")
        nominal = "" if p.is_fixed else f"{p.nominal():.4g}"
        if p.source == ASSUMPTION:
            source = Raw('<span class="assumption">assumption</span>')
        else:
            src = scenario.sources[p.source]
            source = Raw(f'<span title="{esc(src.author)}: {esc(src.title)}">{esc(p.source)}</span>')
        rows.append((path, value, nominal, source, p.note or ""))
    params = table_html(["parameter", "value or distribution", "median", "source", "note"], rows, "params")
    srcs = []
    for key, src in scenario.sources.items():
        where = esc(src.where) + (f' — <a href="{esc(src.url)}">{esc(src.url)}</a>' if src.url else "")
        srcs.append((key, src.author, src.title, src.date, Raw(where)))
    sources = table_html(["key", "author", "title", "date", "where"], srcs)
    uncertain = sum(not p.is_fixed for _, p in iter_params(scenario))
    body = (
        f"<p>{len(rows)} parameters, {uncertain} of them uncertain (sampled by a Latin hypercube over their "
        "distributions); 'assumption' marks a number the scenario's author chose, with the reason in the note.</p>"
        f"{params}<h3>Sources</h3>{sources}"
    )
    return Section("parameters", SECTION_TITLES["parameters"], body)


def run_section(info: Mapping[str, Any], unavailable: Mapping[str, str]) -> Section:
    """Version, seed, sizes and timings: enough to make the same report again."""
    rows = [
        ("ceasefire version", info["version"]),
        ("scenario", f"{info['scenario']} ({info['scenario_file']})"),
        ("scenario file SHA-256", info["scenario_sha256"]),
        ("seed", info["seed"]),
        (
            "headline run",
            f"{info['samples']} samples (of {info['samples_drawn']} drawn) × {info['paths']} paths, "
            f"horizon {info['horizon']} months, {info['policy']} policy, {info['beliefs']} beliefs",
        ),
        ("course (recorded run)", f"{info['course_samples']} samples × {info['course_paths']} paths"),
        (
            "analyses",
            f"{info['analysis_samples']} samples × {info['analysis_paths']} paths (each section states its own sizes)",
        ),
    ]
    rows += [(f"time: {k}", f"{v:.1f} s") for k, v in info["timings"].items()]
    rows += [
        ("time in all", f"{info['seconds']:.1f} s"),
        ("made", info["generated"]),
        ("software", f"Python {info['python']}, NumPy {info['numpy']}"),
    ]
    rows += [(f"section left out: {k}", why) for k, why in unavailable.items()]
    sections = info.get("sections", list(ANALYSIS_SECTIONS))
    chosen = "--quick" if not sections else f"--sections {','.join(sections)}"
    again = (
        f"ceasefire report {info['scenario_file']} --samples {info['samples']} --paths {info['paths']} "
        f"--seed {info['seed']} --horizon {info['horizon']} {chosen} --analysis-samples {info['analysis_samples']} "
        f"--analysis-paths {info['analysis_paths']}"
    )
    body = table_html(["", ""], rows, "kv") + f"<p>To make it again: <code>{esc(again)}</code></p>"
    return Section("run", SECTION_TITLES["run"], body)


# -- sections from the analyses (each takes the analysis' ``to_dict()``) ------------------------


def _pm(value: float | None, se: float | None, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{scale * value:+.{digits}f}{unit}"
    return text if se is None else f"{text} ± {scale * se:.{digits}f}{unit}"


def _source_label(scenario: Scenario, key: str) -> Raw:
    if key == ASSUMPTION or key not in scenario.sources:
        return Raw(f'<span class="assumption">{esc(key or "assumption")}</span>')
    src = scenario.sources[key]
    return Raw(f'<span title="{esc(src.author)}: {esc(src.title)} ({esc(src.date)})">{esc(key)}</span>')


def why_section(data: Mapping[str, Any], scenario: Scenario) -> Section:
    """Each leader's gap between fighting on and the deal within reach, decomposed by exact Shapley values.

    ``data`` maps a side to :meth:`ceasefire.analysis.explain.Explanation.to_dict`.
    """
    parts: list[str] = [
        "<p>For each leader at the start (month 0): his value of fighting on (least-squares Monte Carlo on the war "
        "as he imagines it), his value of each terms option, and the gap between fighting on and the best terms the "
        "other leader would sign, in months of office. The gap is decomposed over the scenario's factor groups "
        "by exact Shapley values (every "
        "coalition of factors at its scenario or neutral value, on common random numbers): the parts add up to the "
        "gap minus the gap with every factor neutral. A positive gap is why he does not sign.</p>"
    ]
    term_names = {t.id: t.name for t in scenario.terms}
    for side, e in data.items():
        factors = sorted(e["factors"], key=lambda f: -abs(f["shapley"] or 0.0))
        best = term_names.get(e["best_terms"], e["best_terms"])
        fig = figures.shapley_waterfall(
            [(f["name"], f["shapley"] or 0.0) for f in factors],
            start=e["neutral_gap"] or 0.0,
            total=e["gap"] or 0.0,
            title=f"{e['leader']}: fighting on minus the deal within reach, month {e['month']}",
            start_label="every factor neutral",
            end_label="his gap",
        )
        parts.append(f"<h3>{esc(e['leader'])} (side {esc(side)})</h3>")
        parts.append(
            f"<p>Value of fighting on {e['fight_value']:.2f}; best deal for him: {esc(best)} "
            f"({e['best_value']:.2f}; his best in {_pct(e['best_share'], 0)} of samples); gap "
            f"{e['gap']:+.2f} ± {e['gap_se']:.2f} months of office "
            f"({e['sizes'].get('samples', '?')} samples × {e['sizes'].get('paths', '?')} paths).</p>"
        )
        parts.append(figure_html(fig, f"why-{side}"))
        rows = [
            (f["name"], _pm(f["shapley"], f["se"], digits=2), _pct(f["share"], 0), _source_label(scenario, f["source"]))
            for f in factors
        ]
        parts.append(table_html(["factor", "part of the gap (months of office)", "share", "source"], rows))
        terms = "; ".join(f"{esc(term_names.get(k, k))}: {v:.2f}" for k, v in e["terms"].items() if v is not None)
        parts.append(f'<p class="small">Value of each terms option for him: {terms}.</p>')
    return Section("why", SECTION_TITLES["why"], "".join(parts))


def levers_section(data: Mapping[str, Any], scenario: Scenario) -> Section:
    """Lever effects (one at a time), the two-lever grid and the price of peace.

    ``data`` has ``effects`` (:class:`~ceasefire.analysis.levers.LeverEffects`), optionally ``grid``
    (:class:`~ceasefire.analysis.levers.LeverGrid`) and ``price``
    (:class:`~ceasefire.analysis.price.PriceOfPeace`), each as ``to_dict()``.
    """
    parts: list[str] = []
    eff = data.get("effects")
    if eff:
        top = max(eff["intensities"])
        at_top = [r for r in eff["rows"] if r["intensity"] == min(top, _max_intensity(scenario, r["lever"]))]
        bars = [
            {
                "name": r["name"],
                "d": 100 * (r["d_p24"] or 0.0),
                "lo": 100 * ((r["d_p24"] or 0.0) - 1.96 * (r["d_p24_se"] or 0.0)),
                "hi": 100 * ((r["d_p24"] or 0.0) + 1.96 * (r["d_p24_se"] or 0.0)),
                "d12": 100 * (r["d_p12"] or 0.0),
            }
            for r in at_top
        ]
        fig = figures.ranking_bars(
            bars,
            "d",
            "name",
            f"Change in P(settlement within 24 months) at intensity {top:g}",
            "points (24 months), 95% interval",
            low="lo",
            high="hi",
            second="d12",
            second_name="points (12 months)",
        )
        base = eff["baseline"]
        parts.append(
            f"<p>Each lever alone against no lever, on the same {eff['samples']} samples × {eff['paths']} paths "
            f"(common random numbers), at the scenario's credibility. Without levers: P(12 months) "
            f"{_pct(base['p12']['value'])}, P(24 months) {_pct(base['p24']['value'])}.</p>"
        )
        parts.append(figure_html(fig, "lever-effects"))
        rows = [
            (
                r["name"],
                f"{r['intensity']:g}",
                _pct(r["credibility"], 0),
                f"{r['cost']:.1f} {r['cost_unit']}",
                _pm(r["d_p12"], r["d_p12_se"], 100, unit=" pts"),
                _pm(r["d_p24"], r["d_p24_se"], 100, unit=" pts"),
                _pm(r["d_casualties_A"], r["d_casualties_A_se"], 1e-3, 0, "k"),
                _pm(r["d_casualties_B"], r["d_casualties_B_se"], 1e-3, 0, "k"),
                _pm(r["d_holds"], r["d_holds_se"], 100, unit=" pts"),
            )
            for r in eff["rows"]
        ]
        parts.append(
            table_html(
                [
                    "lever",
                    "intensity",
                    "credibility",
                    "expected cost",
                    "Δ P(12 months)",
                    "Δ P(24 months)",
                    "Δ casualties A",
                    "Δ casualties B",
                    "Δ ceasefire holds 2 years",
                ],
                rows,
            )
        )
    grid = data.get("grid")
    if grid:
        names = {lv.id: lv.name for lv in scenario.levers}
        z = [[100 * (v if v is not None else float("nan")) for v in row] for row in grid["p24"]]
        fig = figures.heatmap(
            grid["intensities_b"],
            grid["intensities_a"],
            z,
            f"P(settlement within 24 months), %: {names.get(grid['a'], grid['a'])} × {names.get(grid['b'], grid['b'])}",
            f"{names.get(grid['b'], grid['b'])} (intensity)",
            f"{names.get(grid['a'], grid['a'])} (intensity)",
            "%",
        )
        parts.append("<h3>Two levers together</h3>")
        parts.append(figure_html(fig, "lever-grid"))
    price = data.get("price")
    if price:
        pkg = ", ".join(f"{esc(k)} = {v:g}" for k, v in price["package"].items() if v) or "no lever"
        p, b = price["probability"], price["baseline"]
        parts.append("<h3>The price of peace</h3>")
        parts.append(
            f"<p>Cheapest package of levers (costs in {esc(price['cost_unit'])}) for P(settlement within "
            f"{price['within']} months) ≥ {_pct(price['target'], 0)}: <strong>{esc(price['verdict'])}</strong>. "
            f"{'Package' if price['reached'] else 'The most probable package found'}: {pkg}; expected cost "
            f"{price['cost']:.1f} {esc(price['cost_unit'])} "
            f"[{price['cost_p05']:.1f} – {price['cost_p95']:.1f}]; probability with it "
            f"{_pct(p['value'])} ± {100 * (p['se'] or 0):.1f} against {_pct(b['value'])} without levers "
            f"(confirmed on {price['samples']} samples × {price['paths']} paths, seed {price['seed']}; "
            f"searched by {esc(price['optimizer'])} in {price['evaluations']} packages).</p>"
        )
    return Section("levers", SECTION_TITLES["levers"], "".join(parts))


def _max_intensity(scenario: Scenario, lever: str) -> float:
    return next((lv.intensity_max for lv in scenario.levers if lv.id == lever), 1.0)


def sensitivity_section(data: Mapping[str, Any], scenario: Scenario, top: int = 15) -> Section:
    """The uncertain parameters ranked by their influence on one output (SALib's Sobol or Morris)."""
    method = data["method"]
    rank_by, conf, second, name = (
        ("ST", "ST_conf", "S1", "first-order S1") if method == "sobol" else ("mu_star", "mu_star_conf", None, "")
    )
    rows = sorted(data["rows"], key=lambda r: -(r.get(rank_by) or 0.0))
    shown = [
        {
            "parameter": r["parameter"],
            "v": r.get(rank_by) or 0.0,
            "lo": (r.get(rank_by) or 0.0) - (r.get(conf) or 0.0),
            "hi": (r.get(rank_by) or 0.0) + (r.get(conf) or 0.0),
            "second": r.get(second) or 0.0 if second else 0.0,
        }
        for r in rows[:top]
    ]
    label = "total-order index ST" if method == "sobol" else "μ* (mean absolute elementary effect)"
    fig = figures.ranking_bars(
        shown,
        "v",
        "parameter",
        f"Which assumptions move {data['output']} ({method})",
        label,
        low="lo",
        high="hi",
        second="second" if second else None,
        second_name=name,
    )
    table = table_html(
        ["parameter", label, "interval ±", "source"],
        [
            (
                r["parameter"],
                f"{r.get(rank_by) or 0.0:.3g}",
                f"{r.get(conf) or 0.0:.2g}",
                _source_label(scenario, r.get("source", "")),
            )
            for r in rows[:top]
        ],
    )
    body = (
        f"<p>{esc(method.capitalize())} analysis of <code>{esc(data['output'])}</code> over {data['parameters']} "
        f"uncertain parameters: {data['evaluations']:,} model evaluations of {data.get('paths') or '?'} paths each "
        f"(seed {data['seed']}, {data['seconds']:.0f} s); the output's mean {data['output_mean']:.3f}, "
        f"sd {data['output_sd']:.3f}. The {min(top, len(rows))} most influential of {len(rows)} are shown.</p>"
        + figure_html(fig, "sensitivity")
        + table
    )
    return Section("sensitivity", SECTION_TITLES["sensitivity"], body)


def claims_section(data: Mapping[str, Any], scenario: Scenario) -> Section:
    """Each claim of the sources with the model's estimate, its interval and the verdict; then the
    figures of the sources that contradict each other.

    ``data`` is :meth:`ceasefire.analysis.claims.ClaimsReport.to_dict`.
    """
    claims = data.get("claims", [])
    rows = [
        (
            c["id"],
            _source_label(scenario, c["source"]),
            c["asserts"],
            Raw(f'<code>{esc(c["query"])}</code><br><span class="small">{esc(c["quantity"])}</span>'),
            c["display"],
            Raw(
                f'<span class="{esc(c["verdict"])}">{esc(c["verdict"])}</span><br><span class="small">'
                f"{esc(c['rule'])}</span>"
            ),
            Raw(
                ("<strong>by construction</strong><br>" if c.get("by_construction") else "")
                + f'<span class="small">{esc(c.get("null_display", ""))}: {esc(c.get("null_verdict", ""))}</span>'
            ),
        )
        for c in claims
    ]
    counts = {v: sum(1 for c in claims if c["verdict"] == v) for v in ("supported", "contradicted", "undecided")}
    flagged = sum(1 for c in claims if c.get("by_construction"))
    sizes = data.get("sizes", {})
    parts = [
        f"<p>{len(claims)} claims: {counts['supported']} supported, {counts['contradicted']} contradicted, "
        f"{counts['undecided']} undecided. Estimates with a 95% cluster-bootstrap interval over the parameter "
        f"samples ({sizes.get('samples', '?')} samples × {sizes.get('paths', '?')} paths, "
        f"seed {sizes.get('seed', '?')}); "
        "undecided when the interval straddles the threshold. "
        f"{flagged} verdicts are the same with the model's dynamics switched off (nobody signs or breaks "
        "anything by choice, the state stays at the start's, the front and the casualties move at their "
        "calibrated rates): they are <strong>by construction</strong>, following from the inputs alone.</p>"
    ]
    if rows:
        parts.append(
            table_html(
                [
                    "claim",
                    "source",
                    "what the source asserts",
                    "query",
                    "estimate [95%]",
                    "verdict",
                    "without the dynamics",
                ],
                rows,
            )
        )
    else:
        parts.append("<p>The scenario states no claims.</p>")
    bad = [c for c in data.get("inconsistencies", []) if not c.get("consistent", True)]
    checks = data.get("inconsistencies", [])
    if checks:
        parts.append(f"<h3>Do the sources agree? {len(checks) - len(bad)} of {len(checks)} checks consistent</h3>")
        parts.append(
            table_html(
                ["check", "implied", "stated", "agrees", "why"],
                [
                    (
                        c["name"],
                        f"{c['implied']:,.4g} {c['unit']}",
                        f"{'' if c['stated_low'] is None else format(c['stated_low'], ',.4g')} – "
                        f"{'' if c['stated_high'] is None else format(c['stated_high'], ',.4g')}",
                        "yes" if c["consistent"] else Raw('<span class="contradicted">no</span>'),
                        c["explanation"],
                    )
                    for c in checks
                ],
            )
        )
    return Section("claims", SECTION_TITLES["claims"], "".join(parts))


# -- running the analyses -----------------------------------------------------------------------


def _run_why(sc: Scenario, options: ReportOptions, spec: RunSpec, progress: Progress | None) -> dict[str, Any]:
    from ceasefire.analysis.explain import explain

    return {
        side: explain(
            sc,
            side=side,
            month=0,
            samples=options.analysis_samples,
            paths=options.analysis_paths,
            seed=spec.seed,
            horizon=spec.horizon,
            progress=_stage(progress, f"explaining {side}"),
        ).to_dict()
        for side in SIDES
    }


def _run_levers(sc: Scenario, options: ReportOptions, spec: RunSpec, progress: Progress | None) -> dict[str, Any]:
    from ceasefire.analysis.levers import lever_effects, lever_grid

    sizes: dict[str, Any] = {
        "samples": options.analysis_samples,
        "paths": options.analysis_paths,
        "seed": spec.seed,
        "horizon": spec.horizon,
    }
    effects = lever_effects(
        sc, intensities=(0.5, 1.0), certain=False, progress=_stage(progress, "lever effects"), **sizes
    )
    out: dict[str, Any] = {"effects": effects.to_dict()}
    at_one = sorted((r for r in effects.rows if r.intensity == 1.0), key=lambda r: -abs(r.d_p24))
    if len(at_one) >= 2:
        a, b = at_one[0].lever, at_one[1].lever
        grid = lever_grid(sc, a, b, intensities=(0.0, 0.5, 1.0), progress=_stage(progress, "two-lever grid"), **sizes)
        out["grid"] = grid.to_dict()
    try:
        from ceasefire.analysis.price import price_of_peace
    except ImportError:
        return out
    units: dict[str, list[str]] = {}
    for lv in sc.levers:
        units.setdefault(lv.cost_unit, []).append(lv.id)
    if units:
        levers = max(units.values(), key=len)
        target = min(0.95, round(effects.baseline["p12"].value + 0.1, 2))
        if 0.0 < target < 1.0 and spec.horizon >= 12:
            price = price_of_peace(
                sc,
                target,
                within=12,
                levers=levers,
                samples=options.analysis_samples,
                paths=options.analysis_paths,
                seed=spec.seed,
                horizon=spec.horizon,
                search_samples=max(4, options.analysis_samples // 2),
                search_paths=max(8, options.analysis_paths // 2),
                maxiter=5,
                progress=progress,
            )
            out["price"] = price.to_dict()
    return out


def _run_sensitivity(sc: Scenario, options: ReportOptions, spec: RunSpec, progress: Progress | None) -> dict[str, Any]:
    from ceasefire.analysis.sensitivity import sensitivity

    result = sensitivity(
        sc,
        output="p_settle_12",
        method="morris",
        n=4,
        paths=options.analysis_paths,
        seed=spec.seed,
        horizon=spec.horizon,
        progress=_stage(progress, "sensitivity (Morris)"),
    )
    return result.to_dict()


def _run_claims(sc: Scenario, options: ReportOptions, spec: RunSpec, progress: Progress | None) -> dict[str, Any]:
    from ceasefire.analysis.claims import check_claims

    result = check_claims(
        sc,
        samples=options.analysis_samples,
        paths=options.analysis_paths,
        seed=spec.seed,
        horizon=spec.horizon,
        progress=progress,
    )
    return result.to_dict()


ANALYSES.update(why=_run_why, levers=_run_levers, claims=_run_claims, sensitivity=_run_sensitivity)
ANALYSIS_RENDERERS.update(
    why=why_section, levers=levers_section, claims=claims_section, sensitivity=sensitivity_section
)


# -- assembly -----------------------------------------------------------------------------------


def sections_of(data: ReportData) -> list[Section]:
    """The report's sections, in reading order."""
    out = [
        headline_section(data.summary, data.curves, data.survival, data.scenario, data.curves_true_beliefs),
        course_section(data.course, data.summary),
    ]
    for name in ANALYSIS_SECTIONS:
        if name in data.analyses and name in ANALYSIS_RENDERERS:
            out.append(ANALYSIS_RENDERERS[name](data.analyses[name], data.scenario))
    out += [parameters_section(data.scenario), run_section(data.run_info, data.unavailable)]
    return out


CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #1b1b1b; background: #fafafa; line-height: 1.45; }
header { background: #1f2a36; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; } header p { margin: 0; color: #cfd8e3; }
nav { background: #fff; border-bottom: 1px solid #ddd; padding: 8px 32px; position: sticky; top: 0; z-index: 10; }
nav a { margin-right: 16px; color: #2c5d8a; text-decoration: none; font-size: 14px; }
main { max-width: 1200px; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 8px 20px 16px; margin: 20px 0; }
h2 { font-size: 20px; border-bottom: 2px solid #4d7ea8; padding-bottom: 4px; } h3 { font-size: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 12px; min-width: 170px; flex: 1 1 170px;
        background: #f7f9fb; }
.card .label { font-size: 12px; color: #555; } .card .value { font-size: 22px; font-weight: 600; }
.card .note { font-size: 11px; color: #666; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; width: 100%; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f3f6; } table.num td { text-align: right; } table.params td:first-child { font-family: monospace; }
.assumption { color: #8a5a00; font-style: italic; } .small { font-size: 12px; color: #555; }
.supported { color: #1a7f37; font-weight: 600; } .contradicted { color: #c0392b; font-weight: 600; }
.undecided { color: #777; font-weight: 600; }
code { background: #f0f0f0; padding: 1px 4px; border-radius: 3px; }
@media print { nav { display: none; } section { break-inside: avoid-page; } body { background: #fff; } }
"""


def render_report(data: ReportData, plotly_js: str | None = None) -> str:
    """The whole page: one HTML document with Plotly's JavaScript inlined once."""
    if plotly_js is None:
        from plotly.offline import get_plotlyjs

        plotly_js = get_plotlyjs()
    sections = sections_of(data)
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title.split(":")[0])}</a>' for s in sections)
    body = "".join(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections)
    sc = data.scenario.scenario
    # "</script" cannot occur inside the inlined library (it would end the element early)
    safe_js = plotly_js.replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(sc.title)} — ceasefire report</title><style>{CSS}</style>"
        f'<script type="text/javascript">{safe_js}</script></head><body>'
        f"<header><h1>{esc(sc.title)}</h1><p>{esc(sc.description)}</p>"
        f"<p>ceasefire {esc(data.run_info.get('version', __version__))} · scenario {esc(sc.id)} · "
        f"{esc(data.run_info.get('generated', ''))}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def write_report(path: Path, page: str) -> None:
    """Write ``page`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    from ceasefire.run.store import write_atomic

    write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def write_pdf(html_path: Path, pdf_path: Path, chromium: str = "/usr/bin/chromium", timeout_s: float = 120) -> None:
    """Print the report to PDF with a headless Chromium (Playwright), the network blocked.

    Raises ``RuntimeError`` when Playwright or the browser is missing.
    """
    if not Path(chromium).exists():
        raise RuntimeError(f"--pdf needs Chromium at {chromium} (e.g. apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise RuntimeError(f"--pdf needs the 'playwright' package ({e})") from None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
            )
            page.goto(html_path.resolve().as_uri(), wait_until="load", timeout=timeout_s * 1000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))",
                timeout=timeout_s * 1000,
            )
            page.emulate_media(media="print")
            page.pdf(
                path=str(pdf_path),
                format="A4",
                print_background=True,
                landscape=True,
                margin={"top": "10mm", "bottom": "10mm", "left": "8mm", "right": "8mm"},
            )
        finally:
            browser.close()


CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
"""Flags for Debian's Chromium: headless in a container, and no calls home."""
