"""The HTML report: one self-contained page (Plotly's JavaScript embedded once, no network).

The report renders what it is given and runs nothing: :func:`ceasefire.analysis.report_compute.compute_report`
computes :class:`~ceasefire.analysis.report_data.ReportData`, then

- the ``*_section`` functions turn one part of that data into a :class:`Section` (an HTML
  fragment with its figures; each analysis section takes its analysis' dict);
- :func:`render_report` assembles the sections into one page (a string; the command line writes it).

Everything taken from the scenario or the analyses is HTML-escaped; figures come from the pure
builders of :mod:`ceasefire.report.figures`. A leader's gap is always fighting on minus a named
deal (above 0 he fights on); a probability without levers is always the headline run's, marked
``data-quantity`` so that a test can check every section quotes the same number.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ceasefire.analysis.report_data import ANALYSIS_SECTIONS, ReportData
from ceasefire.report import figures
from ceasefire.scenario.labels import parameter_description, parameter_label
from ceasefire.scenario.params import ASSUMPTION
from ceasefire.scenario.schema import SIDES, Scenario, iter_params

__all__ = [
    "ANALYSIS_RENDERERS",
    "CHROMIUM_ARGS",
    "SECTION_TITLES",
    "Section",
    "render_report",
    "sections_of",
    "write_pdf",
]

SECTION_TITLES = {
    "headline": "When does the war end?",
    "course": "The war's course",
    "why": "Why: each leader's gap between fighting on and the deal within reach",
    "levers": "What would change it: levers and the price of peace",
    "claims": "Which claims hold",
    "sensitivity": "Which assumptions matter",
    "parameters": "Every parameter and its source",
    "run": "How this report was made",
}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str  # HTML fragment


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
    return "n/a" if p is None or not math.isfinite(p) else f"{100 * p:.{digits}f}%"


def _quoted(quantity: str, p: float, digits: int = 1) -> str:
    """A probability without levers quoted from the headline run, marked for the consistency test."""
    return f'<span class="baseline" data-quantity="{esc(quantity)}">{esc(_pct(p, digits))}</span>'


def _month_label(start: str, month: int) -> str:
    """The calendar month ``month`` months after the date ``start``, ``2027-01``."""
    return str(np.datetime64(start, "M") + month)


def _card(label: str, value: str, note: str = "", quantity: str = "") -> str:
    mark = f' data-quantity="{esc(quantity)}"' if quantity else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div><div class="value"{mark}>{esc(value)}</div>'
        f'<div class="note">{esc(note)}</div></div>'
    )


# -- sections from the model run ----------------------------------------------------------------

WITHIN_QUANTITY = {"12 months": "p12", "24 months": "p24"}


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
                    WITHIN_QUANTITY.get(label, ""),
                )
            )
    m = s["median_month"]
    if m is None:
        cards.append(_card("median month of settlement", "after the horizon", f"{s['horizon']} months"))
    else:
        cards.append(_card("median month of settlement", _month_label(s["start"], m), f"month {m} from the start"))
    for side in SIDES:
        c = s["casualties_to_settlement"][side]
        note = f"median; 5–95%: {c['p05']:,.0f} – {c['p95']:,.0f}"
        cards.append(_card(f"casualties {s['side_names'][side]} until settlement", f"{c['median']:,.0f}", note))
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
        f"<p>{esc(s['title'])}: the headline run, {s['samples']} parameter samples × {s['paths']} paths, seed "
        f"{s['seed']}, {esc(s['policy'])} policy. Every probability without levers quoted in this report is this "
        f"run's. Months are counted from {esc(s['start'])} (month 0). The bands show how much the answer depends "
        "on the uncertain parameters (each sample's own curve); the solid line pools all paths.</p>"
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
        f"<p>From a recorded run of {course['samples']} samples × {course['paths']} paths (same seed as the headline "
        "run; every path's months are kept, so it is smaller); medians and 5–95% bands over all paths. After a "
        "settlement the line is frozen and casualties stop unless the ceasefire breaks down.</p>",
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
    if course["gaps"]:
        reference = next(iter(course["gaps"].values())).get("reference", "")
        parts.append(
            f'<p class="small">Each leader\'s gap is his value of fighting on minus his value of {esc(reference)}, '
            "in months of office, over the paths still at war: above 0 he fights on. It is the gap the next section "
            "decomposes, there at month 0 on its own samples.</p>"
        )
    if not course.get("hazard_recorded"):
        parts.append(
            f'<p class="small">The hazard is estimated from the simulated removals on the '
            f"{course.get('hazard_paths', 0):,} paths of the headline run (incumbents removed in a month over "
            "incumbents still in office); the engine does not record each leader's modelled hazard per month.</p>"
        )
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


def _parameter_cell(scenario: Scenario, path: str) -> Raw:
    """A parameter's readable label with its dotted path beneath (the name in the scenario file)."""
    title = parameter_description(scenario, path) or ""
    return Raw(
        f'<span title="{esc(title)}">{esc(parameter_label(scenario, path))}</span><br>'
        f'<code class="small">{esc(path)}</code>'
    )


def parameters_section(scenario: Scenario) -> Section:
    """Every parameter with its value or distribution and its source; then the sources."""
    rows = []
    for path, p in iter_params(scenario):
        value = p.describe() + (f" {p.unit}" if p.unit else "")
        nominal = "" if p.is_fixed else f"{p.nominal():.4g}"
        rows.append((_parameter_cell(scenario, path), value, nominal, _source_label(scenario, p.source), p.note or ""))
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
    """Version, seed, the sizes of every section and the timings: enough to make the same report again."""
    sections = info.get("sections", list(ANALYSIS_SECTIONS))
    rows = [
        ("ceasefire version", info["version"]),
        ("scenario", f"{info['scenario']} ({info['scenario_file']})"),
        ("scenario file SHA-256", info["scenario_sha256"]),
        ("seed", info["seed"]),
        (
            "headline run (and claims)",
            f"{info['samples']} samples (of {info['samples_drawn']} drawn) × {info['paths']} paths, "
            f"horizon {info['horizon']} months, {info['policy']} policy, {info['beliefs']} beliefs",
        ),
        ("course (recorded run)", f"{info['course_samples']} samples × {info['course_paths']} paths"),
    ]
    if "levers" in sections:
        rows.append(
            (
                "lever study",
                f"batches of {info['lever_batch_samples']} samples × {info['lever_paths']} paths, added until every "
                f"change's 95% interval is within ±{100 * info['lever_half_width']:g} points (at most "
                f"{info['lever_max_samples']} samples); price of peace searched at {info['analysis_samples']} × "
                f"{info['analysis_paths']}",
            )
        )
    if "why" in sections:
        given = info.get("why_samples") or info.get("why_paths")
        rows.append(
            (
                "why (each coalition)",
                f"{info.get('why_samples') or 'default'} samples × {info.get('why_paths') or 'default'} paths"
                if given
                else "the sizes of `ceasefire explain` (stated in the section)",
            )
        )
    if "sensitivity" in sections:
        rows.append(
            (
                "sensitivity (Morris)",
                f"{info['morris_trajectories']} trajectories, {info['analysis_paths']} paths per evaluation",
            )
        )
    rows += [(f"time: {k}", f"{v:.1f} s") for k, v in info["timings"].items()]
    rows += [
        ("time in all", f"{info['seconds']:.1f} s"),
        ("made", info["generated"]),
        ("software", f"Python {info['python']}, NumPy {info['numpy']}"),
    ]
    rows += [(f"section left out: {k}", why) for k, why in unavailable.items()]
    chosen = "--quick" if not sections else f"--sections {','.join(sections)}"
    again = (
        f"ceasefire report {info['scenario_file']} --samples {info['samples']} --paths {info['paths']} "
        f"--seed {info['seed']} --horizon {info['horizon']} {chosen} --analysis-samples {info['analysis_samples']} "
        f"--analysis-paths {info['analysis_paths']} --lever-width {100 * info['lever_half_width']:g} "
        f"--lever-paths {info['lever_paths']} --lever-max-samples {info['lever_max_samples']}"
        + "".join(f" --{k.replace('_', '-')} {info[k]}" for k in ("why_samples", "why_paths") if info.get(k))
    )
    body = table_html(["", ""], rows, "kv") + f"<p>To make it again: <code>{esc(again)}</code></p>"
    return Section("run", SECTION_TITLES["run"], body)


# -- sections from the analyses (each takes its analysis' dict) ---------------------------------


def _pm(value: float | None, se: float | None, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{scale * value:+.{digits}f}{unit}"
    return text if se is None else f"{text} ± {scale * se:.{digits}f}{unit}"


Z95 = 1.959963984540054
"""A 95% interval is the estimate ± this many standard errors (as in :mod:`ceasefire.analysis.levers`)."""


def _interval(d: float | None, se: float | None, scale: float = 100.0, digits: int = 1) -> str:
    """An estimate and its 95% interval, ``+4.2 [2.5, 5.9]``."""
    if d is None:
        return "n/a"
    if se is None or not math.isfinite(se):
        return f"{scale * d:+.{digits}f}"
    lo, hi = scale * (d - Z95 * se), scale * (d + Z95 * se)
    return f"{scale * d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def _source_label(scenario: Scenario, key: str) -> Raw:
    if key == ASSUMPTION or key not in scenario.sources:
        return Raw(f'<span class="assumption">{esc(key or "assumption")}</span>')
    src = scenario.sources[key]
    return Raw(f'<span title="{esc(src.author)}: {esc(src.title)} ({esc(src.date)})">{esc(key)}</span>')


def why_section(data: Mapping[str, Any], scenario: Scenario) -> Section:
    """Each leader's gap, fighting on minus the deal within reach, decomposed by exact Shapley values.

    ``data`` maps a side to :meth:`ceasefire.analysis.explain.Explanation.to_dict` (with
    ``compared_value``, the value of the deal within reach: fighting on minus the gap).
    """
    parts: list[str] = [
        "<p>For each leader at the start (month 0): his value of fighting on (least-squares Monte Carlo on the war "
        "as he imagines it) and his value of the deal within reach — in each parameter sample, his best terms "
        "among those the other leader would sign — in months of office. <strong>The gap is fighting on minus that "
        "deal: above 0 he fights on.</strong> It is decomposed over the scenario's factor groups by exact Shapley "
        "values (every coalition of factors at its scenario or neutral value, on common random numbers): the gap "
        "with every factor neutral plus the parts is the gap.</p>"
    ]
    term_names = {t.id: t.name for t in scenario.terms}
    for side, e in data.items():
        factors = sorted(e["factors"], key=lambda f: -abs(f["shapley"] or 0.0))
        other = scenario.leaders["B" if side == "A" else "A"].name  # type: ignore[index]
        fig = figures.shapley_waterfall(
            [(f["name"], f["shapley"] or 0.0) for f in factors],
            start=e["neutral_gap"] or 0.0,
            total=e["gap"] or 0.0,
            title=f"{e['leader']}: fighting on minus the deal within reach, month {e['month']} (above 0: he fights on)",
            start_label="every factor neutral",
            end_label="his gap",
            x_title="gap (months of office)",
        )
        fight, gap = e["fight_value"], e["gap"]
        deal = e.get("compared_value", None if gap is None else fight - gap)
        shares = sorted((e.get("compared_share") or {}).items(), key=lambda kv: -kv[1])
        within = ", ".join(f"{esc(term_names.get(k, k))} ({_pct(v, 0)} of samples)" for k, v in shares)
        best = term_names.get(e["best_terms"], e["best_terms"])
        best_within = (e.get("compared_share") or {}).get(e["best_terms"], 0.0)
        parts.append(f"<h3>{esc(e['leader'])} (side {esc(side)})</h3>")
        parts.append(
            f"<p>Fighting on {fight:.2f} − the deal within reach {deal:.2f} = <strong>gap {gap:+.2f}</strong> ± "
            f"{e['gap_se']:.2f} months of office (mean over {e['sizes'].get('samples', '?')} samples × "
            f"{e['sizes'].get('paths', '?')} paths, a {e['sizes'].get('horizon', '?')}-month stopping problem, as "
            f"<code>ceasefire explain</code> at these sizes; every factor neutral, the gap would be "
            f"{e['neutral_gap']:+.2f}). "
            f"The deal within reach, by sample: {within or 'n/a'}. "
            f"{_best_terms(best, e['best_value'], best_within, other)}</p>"
        )
        parts.append(figure_html(fig, f"why-{side}"))
        rows = [
            (f["name"], _pm(f["shapley"], f["se"], digits=2), _pct(f["share"], 0), _source_label(scenario, f["source"]))
            for f in factors
        ]
        parts.append(table_html(["factor", "part of the gap (months of office) ± s.e.", "share", "source"], rows))
        terms = "; ".join(f"{esc(term_names.get(k, k))}: {v:.2f}" for k, v in e["terms"].items() if v is not None)
        parts.append(f'<p class="small">His value of signing each terms option now: {terms}.</p>')
    return Section("why", SECTION_TITLES["why"], "".join(parts))


def _best_terms(best: str, value: float, within: float, other: str) -> str:
    """Whether the leader's own best terms are within reach, in words."""
    own = f"His own best terms, {esc(best)} ({value:.2f} on average),"
    if within <= 0:
        return f"{own} are not within reach: {esc(other)} would not sign them in any sample."
    if within >= 1:
        return f"{own} are within reach in every sample."
    return f"{own} are within reach in {_pct(within, 0)} of samples; {esc(other)} would not sign them in the others."


def _with_lever(reference: float, change: float | None) -> str:
    """The headline's level plus a change, from the rounded numbers shown, so the sum can be checked."""
    if change is None:
        return "n/a"
    return f"{round(100 * reference, 1) + round(100 * change, 1):.1f}%"


def _package_names(packages: Sequence[Mapping[str, float]], names: Mapping[str, str]) -> str:
    return "; ".join(" and ".join(f"{esc(names.get(k, k))} at {x:g}" for k, x in p.items()) for p in packages)


def _levers_intro(eff: Mapping[str, Any], ref: Mapping[str, Any], widest: float | None) -> str:
    target = eff.get("half_width")
    reached = (
        ""
        if target is None or widest is None
        else (
            f" Samples were added in batches of {eff['samples'] // max(eff.get('batches', 1), 1)} until every change's "
            f"95% interval was within ±{100 * target:g} points; the widest is ±{100 * widest:.1f}."
            if widest <= target
            else f" The widest 95% interval is ±{100 * widest:.1f} points, above the ±{100 * target:g} aimed at: "
            f"the limit of {eff['samples']} samples was reached."
        )
    )
    return (
        f"<p>Without levers, in the headline run ({ref['samples']} samples × {ref['paths']} paths): "
        f"P(settlement within 12 months) {_quoted('p12', ref['p12']['value'])}, within 24 months "
        f"{_quoted('p24', ref['p24']['value'])}. Each lever alone changes these by the amount shown, measured with "
        f"common random numbers (the lever's runs reuse the samples and paths of runs without it) on "
        f"{eff['samples']} parameter samples × {eff['paths']} paths in {eff.get('batches', 1)} batch(es), at the "
        "scenario's credibility: a lever's effect differs much between parameter samples, so many samples measure it "
        f"better than many paths.{reached} The probability with a lever is the headline's plus that change.</p>"
    )


def levers_section(data: Mapping[str, Any], scenario: Scenario) -> Section:
    """Lever effects (one at a time), the two-lever grid and the price of peace, against the headline run.

    ``data`` has ``effects`` (:class:`~ceasefire.analysis.levers.LeverEffects`), ``reference`` (the
    headline run's P(12) and P(24) without levers, with its sizes), ``widest`` (the widest 95%
    half-width), optionally ``grid`` (:class:`~ceasefire.analysis.levers.LeverGrid`) and ``price``
    (:class:`~ceasefire.analysis.price.PriceOfPeace`), each as ``to_dict()``.
    """
    parts: list[str] = []
    eff, ref = data.get("effects"), data["reference"]
    names = {lv.id: lv.name for lv in scenario.levers}
    if eff:
        parts.append(_levers_intro(eff, ref, data.get("widest")))
        if data.get("packages"):
            parts.append(
                f'<p class="small">The same samples carry the packages the claims name '
                f"({_package_names(data['packages'], names)}): the claims section checks them on these runs, and "
                "their intervals count in when to stop adding samples.</p>"
            )
        top, largest = max(eff["intensities"]), {lv.id: lv.intensity_max for lv in scenario.levers}
        at_top = [r for r in eff["rows"] if r["intensity"] == min(top, largest.get(r["lever"], 1.0))]
        m = _months(eff)
        bars = [
            {
                "name": r["name"],
                "d": 100 * (r[f"d_p{m}"] or 0.0),
                "lo": 100 * ((r[f"d_p{m}"] or 0.0) - Z95 * (r[f"d_p{m}_se"] or 0.0)),
                "hi": 100 * ((r[f"d_p{m}"] or 0.0) + Z95 * (r[f"d_p{m}_se"] or 0.0)),
                "d12": 100 * (r["d_p12"] or 0.0),
            }
            for r in at_top
        ]
        fig = figures.ranking_bars(
            bars,
            "d",
            "name",
            f"Change in P(settlement within {m} months) with each lever at intensity {top:g}, against no lever",
            f"points, within {m} months (95% interval)",
            low="lo",
            high="hi",
            second="d12" if m != 12 else None,
            second_name="points, within 12 months",
        )
        parts.append(figure_html(fig, "lever-effects"))
        if eff.get("skipped"):
            parts.append(
                f'<p class="small">Not shown (their largest intensity is below {top:g}): '
                f"{esc(', '.join(eff['skipped']))}.</p>"
            )
        rows = [
            (
                r["name"],
                f"{r['intensity']:g}",
                _pct(r["credibility"], 0),
                f"{r['cost']:.1f} {r['cost_unit']}",
                _interval(r["d_p12"], r["d_p12_se"]),
                _with_lever(ref["p12"]["value"], r["d_p12"]),
                _interval(r["d_p24"], r["d_p24_se"]),
                _with_lever(ref["p24"]["value"], r["d_p24"]),
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
                    "Δ P(12 months), points [95%]",
                    "P(12 months) with it",
                    "Δ P(24 months), points [95%]",
                    "P(24 months) with it",
                    "Δ casualties A ± s.e.",
                    "Δ casualties B ± s.e.",
                    "Δ ceasefire holds 2 years ± s.e.",
                ],
                rows,
            )
        )
    grid = data.get("grid")
    if grid:
        parts.append(_grid_html(grid, ref, names))
    price = data.get("price")
    if price:
        parts.append(_price_html(price, names))
    return Section("levers", SECTION_TITLES["levers"], "".join(parts))


def _months(data: Mapping[str, Any]) -> int:
    """The months the lever figures look at: 24, or 12 when the horizon is shorter than 24."""
    return 24 if data.get("horizon", 24) >= 24 else 12


def _grid_html(grid: Mapping[str, Any], ref: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The two-lever grid as P(24 months) levels (12 under a shorter horizon): the headline's plus each
    package's change."""
    a, b = names.get(grid["a"], grid["a"]), names.get(grid["b"], grid["b"])
    m = _months(grid)
    base = ref[f"p{m}"]["value"]
    z = [[100 * (base + (d if d is not None else math.nan)) for d in row] for row in grid[f"d_p{m}"]]
    text = [
        [
            "n/a" if d is None else f"{_with_lever(base, d)}<br>{_interval(d, se, digits=0)} pts"
            for d, se in zip(row, row_se, strict=True)
        ]
        for row, row_se in zip(grid[f"d_p{m}"], grid[f"d_p{m}_se"], strict=True)
    ]
    fig = figures.heatmap(
        grid["intensities_b"],
        grid["intensities_a"],
        z,
        f"P(settlement within {m} months) with {a} and {b}",
        f"{b} (intensity)",
        f"{a} (intensity)",
        "%",
        text=text,
    )
    return (
        "<h3>Two levers together</h3>"
        f"<p>The two levers that raise P(settlement within {m} months) most, alone and together, on the same "
        f"samples and paths as above: each cell is the headline's {_quoted(f'p{m}', base)} plus the package's change "
        "(points, 95% interval).</p>" + figure_html(fig, "lever-grid")
    )


def _price_html(price: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The price of peace in plain words: the package, its cost and its probability, or that none reaches the target."""
    p, b, target, within = price["probability"], price["baseline"], price["target"], price["within"]
    unit = esc(price["cost_unit"])
    package = ", ".join(f"{esc(names.get(k, k))} at {v:g}" for k, v in price["package"].items() if v) or "no lever"
    levers = ", ".join(esc(names.get(k, k)) for k in price["levers"])
    what = f"P(settlement within {within} months) of at least {_pct(target, 0)}"
    sizes = f"{price['samples']} samples × {price['paths']} paths"
    if price.get("reference_samples"):
        where = f"the headline's probability without levers plus the package's change on the lever study's {sizes}"
        start = f"the headline's {_quoted(f'p{within}', b['value'])}"
    else:
        where, start = f"{sizes}, seed {price['seed']}", f"{_pct(b['value'])} without levers"
    if not price["reached"] or price.get("at_max"):
        at_max = price.get("at_max") or p
        found = (
            f"; the most probable package found ({package}) gives {_pct(p['value'])} ± {100 * (p['se'] or 0):.1f}"
            if price.get("searched", True)
            else ", so no cheaper package was searched for"
        )
        sentence = (
            f"<strong>No package of these levers reaches {what}.</strong> With every lever at its largest "
            f"intensity the probability is {_pct(at_max['value'])} ± {100 * (at_max['se'] or 0):.1f}{found}"
        )
    elif p["value"] >= target:
        sentence = (
            f"<strong>The cheapest package found for {what}: {package}</strong>, at an expected cost of "
            f"{price['cost']:.1f} {unit} (5–95%: {price['cost_p05']:.1f} – {price['cost_p95']:.1f}); with it the "
            f"probability is {_pct(p['value'])} ± {100 * (p['se'] or 0):.1f}"
        )
    else:
        sentence = (
            f"<strong>The search found a package for {what} ({package}, {price['cost']:.1f} {unit}), but it falls "
            f"short when checked:</strong> {_pct(p['value'])} ± {100 * (p['se'] or 0):.1f}"
        )
    return (
        "<h3>The price of peace</h3>"
        f"<p>The cheapest package of the levers that raise P(settlement within {within} months) alone and share "
        f"one cost unit ({levers}; costs in {unit}) for {what} ({100 * (target - b['value']):+.1f} points from "
        f"{start}). {sentence} ({where}).</p>"
        + (
            f'<p class="small">Searched by {esc(price["optimizer"])} over {price["evaluations"]} packages, each '
            f"evaluated on {price['search_samples']} samples × {price['search_paths']} paths (seed "
            f"{price['search_seed']}); the package found was then checked on the larger runs above.</p>"
            if price.get("searched", True)
            else ""
        )
    )


def sensitivity_section(data: Mapping[str, Any], scenario: Scenario, top: int = 15) -> Section:
    """The uncertain parameters ranked by their influence on one output (SALib's Sobol or Morris)."""
    method = data["method"]
    rank_by, conf, second, name = (
        ("ST", "ST_conf", "S1", "first-order S1") if method == "sobol" else ("mu_star", "mu_star_conf", None, "")
    )
    output = data.get("output_label") or data["output"]
    rows = sorted(data["rows"], key=lambda r: -(r.get(rank_by) or 0.0))
    shown = [
        {
            "parameter": parameter_label(scenario, r["parameter"]),
            "v": r.get(rank_by) or 0.0,
            "lo": (r.get(rank_by) or 0.0) - (r.get(conf) or 0.0),
            "hi": (r.get(rank_by) or 0.0) + (r.get(conf) or 0.0),
            "second": r.get(second) or 0.0 if second else 0.0,
        }
        for r in rows[:top]
    ]
    label = "total-order index ST" if method == "sobol" else "μ*: mean absolute elementary effect"
    fig = figures.ranking_bars(
        shown,
        "v",
        "parameter",
        f"Which assumptions move {output} ({'Sobol' if method == 'sobol' else 'Morris screen'})",
        f"{label} (95% interval)",
        low="lo",
        high="hi",
        second="second" if second else None,
        second_name=name,
        floor=0.0,
    )
    table = table_html(
        ["parameter", label, "95% interval ±", "source"],
        [
            (
                _parameter_cell(scenario, r["parameter"]),
                f"{r.get(rank_by) or 0.0:.3g}",
                f"{r.get(conf) or 0.0:.2g}",
                _source_label(scenario, r.get("source", "")),
            )
            for r in rows[:top]
        ],
    )
    body = (
        f"<p>{esc(method.capitalize())} analysis of {esc(output)} over {data['parameters']} uncertain parameters: "
        f"{data['evaluations']:,} model evaluations of {data.get('paths') or '?'} paths each (seed {data['seed']}); "
        f"the output's mean {data['output_mean']:.3f}, sd {data['output_sd']:.3f} over the evaluations. "
        + (
            "A screen, not a measurement: μ* ranks the parameters by how much moving each across its range moves "
            "the output; where the intervals of two parameters overlap, their order is not settled. "
            if method == "morris"
            else ""
        )
        + f"The {min(top, len(rows))} most influential of {len(rows)} are shown.</p>"
        + figure_html(fig, "sensitivity")
        + table
    )
    return Section("sensitivity", SECTION_TITLES["sensitivity"], body)


def claims_section(data: Mapping[str, Any], scenario: Scenario) -> Section:
    """Each claim of the sources with the model's estimate, its interval and the verdict; then the
    figures of the sources that contradict each other.

    ``data`` is :meth:`ceasefire.analysis.claims.ClaimsReport.to_dict`, with ``reference`` (the
    headline run's probabilities without levers) when the claims were checked on the headline run.
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
                f'<span class="{esc(c["verdict"])}" data-claim="{esc(c["id"])}">{esc(c["verdict"])}</span>'
                f'<br><span class="small">{esc(c["rule"])}</span>'
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
    ref = data.get("reference")
    on = (
        f"on the headline run ({sizes.get('samples', '?')} samples × {sizes.get('paths', '?')} paths, seed "
        f"{sizes.get('seed', '?')}; without levers P(settlement within 12 months) "
        f"{_quoted('p12', ref['p12']['value'])})"
        if ref
        else f"on {sizes.get('samples', '?')} samples × {sizes.get('paths', '?')} paths, seed {sizes.get('seed', '?')}"
    )
    levers = (
        f"a claim about levers on the lever study ({sizes['lever_samples']} samples × {sizes['lever_paths']} paths "
        f"in {sizes['lever_batches']} batch(es), with and without the levers on the same samples and paths, as in "
        "the levers section)"
        if "lever_samples" in sizes
        else "a claim about levers with and without them on the same samples and paths"
    )
    parts = [
        f"<p>{len(claims)} claims: {counts['supported']} supported, {counts['contradicted']} contradicted, "
        f"{counts['undecided']} undecided. Checked {on}; {levers}. Estimates with a 95% cluster-bootstrap "
        "interval over the parameter samples; undecided when the interval straddles the threshold. "
        "<code>ceasefire claims</code> at the same sizes gives the same verdicts. "
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
    out += [ANALYSIS_RENDERERS[n](data.analyses[n], data.scenario) for n in ANALYSIS_SECTIONS if n in data.analyses]
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
        f"<p>ceasefire {esc(data.run_info.get('version', ''))} · scenario {esc(sc.id)} · "
        f"{esc(data.run_info.get('generated', ''))}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


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
