"""Figures of the report and the dashboard: plain data in, :class:`plotly.graph_objects.Figure` out.

The builders (``settlement_fan``, ``survival_chart``, ...) turn small dicts of lists into figures;
the statistics they plot come from :mod:`ceasefire.analysis.curves`. Nothing here runs the model,
reads files or touches the network; Plotly is imported here only, so ``import ceasefire`` never
imports it (the ``viz`` extra).

Every figure must read at 800 px wide: long titles and category labels are wrapped
(:func:`wrap`), value labels drawn outside bars get room inside the axes, and nothing is clipped.
A leader's gap is always fighting on minus a named deal (above 0 he fights on).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ceasefire.analysis.curves import REFERENCE_BEST

SIDE_COLOURS = {"A": "#b2182b", "B": "#2166ac"}
POOLED = "#1b1b1b"
BAND = "#4d7ea8"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
TITLE_CHARS = 56
"""Characters per line of a figure's title: two figures side by side at 1,366 px, one at 800 px."""
AXIS_CHARS = 36
"""Characters per line of a vertical axis's title."""
LABEL_CHARS = 30
"""Characters per line of a category label (a bar's name)."""
LABEL_ROOM = 0.25
"""Share of the value axis's span kept free on each side for the value labels drawn outside bars."""


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces), joined by ``<br>``."""
    return "<br>".join(textwrap.wrap(str(text), width=width, break_long_words=False)) or str(text)


# -- layout helpers -----------------------------------------------------------------------------


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 440, **layout: Any) -> go.Figure:
    """The house style; the title wrapped to :data:`TITLE_CHARS` and the top margin made to fit it.
    ``layout`` sets more of the layout, or other values (e.g. ``hovermode``)."""
    text = wrap(title, TITLE_CHARS)
    lines = text.count("<br>") + 1
    fig.update_layout(
        title={
            "text": text,
            "x": 0.01,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "top",
            "pad": {"t": 16},
            "font": {"size": 15},
        },
        xaxis_title=wrap(x, TITLE_CHARS) if x else x,
        yaxis_title=wrap(y, AXIS_CHARS) if y else y,
        template="plotly_white",
        height=height + 20 * (lines - 1),
        margin={"l": 60, "r": 24, "t": 36 + 20 * lines, "b": 40},
        font={"family": FONT, "size": 12},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        hovermode="x unified",
    )
    fig.update_layout(**layout)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _band(
    fig: go.Figure, x: Sequence[float], lo: Sequence[float | None], hi: Sequence[float | None], colour: str, name: str
) -> None:
    """A shaded band between ``lo`` and ``hi`` (two traces; the second fills to the first)."""
    fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=hi,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_rgba(colour, 0.2),
            name=name,
            hoverinfo="skip",
        )
    )


def blank(message: str, height: int = 240) -> go.Figure:
    """A figure with no axes, only ``message`` in its middle."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template="plotly_white", height=height, margin={"t": 10, "b": 10})
    return fig


# -- builders: the headline ---------------------------------------------------------------------


def settlement_fan(
    curves: Mapping[str, Any], start: str = "", compare: Mapping[str, Any] | None = None, compare_name: str = ""
) -> go.Figure:
    """Fan chart of the probability of a settlement within ``m`` months (from :func:`settlement_curves`).

    The bands are the 5-95% and 25-75% ranges over parameter samples of each sample's curve, the
    dashed line their median, the solid line the pooled probability. ``compare`` (another run's
    curves, e.g. without levers) is drawn as a dotted line.
    """
    x = curves["months"]
    fig = go.Figure()
    _band(fig, x, curves["p05"], curves["p95"], BAND, "5–95% over parameter samples")
    _band(fig, x, curves["p25"], curves["p75"], BAND, "25–75% over parameter samples")
    fig.add_trace(go.Scatter(x=x, y=curves["p50"], name="median sample", line={"color": BAND, "dash": "dash"}))
    if compare is not None:
        fig.add_trace(
            go.Scatter(
                x=compare["months"],
                y=compare["pooled"],
                name=compare_name or "comparison",
                line={"color": "#888888", "dash": "dot", "width": 2},
            )
        )
    fig.add_trace(go.Scatter(x=x, y=curves["pooled"], name="all samples pooled", line={"color": POOLED, "width": 3}))
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    when = f" (month 0 = {start})" if start else ""
    title = f"Probability of a settlement within m months — {curves['samples']} samples × {curves['paths']} paths"
    return _layout(fig, title, f"months from the start{when}", "probability")


def survival_chart(survival: Mapping[str, Any]) -> go.Figure:
    """A first ceasefire's survival as simulated (Kaplan-Meier: leaders' choices and the fading background
    hazard), beside what the background hazard at signing would give alone (:func:`ceasefire_survival`)."""
    if not survival["ceasefires"]:
        return _layout(blank("no ceasefire was signed in the run"), "How long a ceasefire holds", "", "", height=240)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=survival["months"],
            y=survival["km"],
            name="simulated ceasefires (Kaplan–Meier)",
            line={"color": POOLED, "shape": "hv"},
        )
    )
    fig.add_trace(  # what the input alone would give: the background hazard at signing, held constant
        go.Scatter(
            x=survival["months"],
            y=survival["model"],
            name="background hazard at signing alone: mean of (1 − b)^m",
            line={"color": BAND, "dash": "dot"},
        )
    )
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return _layout(
        fig,
        f"How long a first ceasefire holds ({survival['ceasefires']:,} ceasefires)",
        "months after signing",
        "probability it still holds",
    )


def terms_bar(terms_agreed: Mapping[str, float], names: Mapping[str, str] | None = None) -> go.Figure:
    """Share of paths whose first settlement is on each terms option (``none``: no settlement)."""
    names = names or {}
    items = sorted(terms_agreed.items(), key=lambda kv: (kv[0] == "none", -kv[1]))
    labels = [names.get(k, "no settlement within the horizon" if k == "none" else k) for k, _ in items]
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=labels,
            orientation="h",
            marker_color=["#bbbbbb" if k == "none" else BAND for k, _ in items],
            text=[f"{100 * v:.1f}%" for _, v in items],
            textposition="auto",
        )
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1], dtick=0.25)
    fig.update_yaxes(autorange="reversed", automargin=True)
    height = 120 + 40 * len(items)
    return _layout(
        fig, "Terms of the first settlement", "share of paths", "", height, hovermode="closest", showlegend=False
    )


# -- builders: the war's course -----------------------------------------------------------------


def course_chart(
    bands: Mapping[str, Mapping[str, Any]], title: str, y: str, colours: Mapping[str, str] | None = None
) -> go.Figure:
    """Median (line) and 5-95% band over paths of one or more trajectories (:func:`course_bands`)."""
    fig = go.Figure()
    for name, b in bands.items():
        colour = (colours or {}).get(name, BAND)
        _band(fig, b["months"], b["p05"], b["p95"], colour, f"{name}: 5–95% of paths")
        fig.add_trace(go.Scatter(x=b["months"], y=b["p50"], name=f"{name}: median", line={"color": colour}))
    return _layout(fig, title, "months from the start", y)


def hazard_chart(hazards: Mapping[str, Mapping[str, Any]], colours: Mapping[str, str] | None = None) -> go.Figure:
    """Each incumbent's monthly hazard of losing office (:func:`office_hazard`), in % a month."""
    fig = go.Figure()
    for name, h in hazards.items():
        fig.add_trace(
            go.Scatter(
                x=h["months"],
                y=[None if v is None or np.isnan(v) else 100 * v for v in h["hazard"]],
                name=name,
                line={"color": (colours or {}).get(name, BAND)},
            )
        )
    return _layout(fig, "Hazard of losing office (incumbents, simulated)", "months from the start", "% per month")


def gap_chart(gaps: Mapping[str, Mapping[str, Any]], colours: Mapping[str, str] | None = None) -> go.Figure:
    """Each leader's gap, fighting on minus the reference deal, over the paths at war (:func:`gap_bands`).

    The reference deal (the dicts' ``reference``) is named in the title; above 0 he fights on.
    """
    fig = go.Figure()
    references = {str(g.get("reference", REFERENCE_BEST)) for g in gaps.values()}
    for name, g in gaps.items():
        colour = (colours or {}).get(name, BAND)
        _band(fig, g["months"], g["p25"], g["p75"], colour, f"{name}: 25–75% of paths at war")
        fig.add_trace(go.Scatter(x=g["months"], y=g["p50"], name=f"{name}: median", line={"color": colour}))
    fig.add_hline(y=0, line={"color": "#777777", "width": 1})
    reference = references.pop() if len(references) == 1 else "the reference deal"
    return _layout(
        fig, f"Fighting on minus {reference} (above 0: he fights on)", "months from the start", "gap (months of office)"
    )


# -- builders: the analyses ---------------------------------------------------------------------


def shapley_waterfall(
    parts: Sequence[tuple[str, float]],
    start: float,
    total: float,
    title: str,
    start_label: str = "neutral",
    end_label: str = "scenario",
    x_title: str = "gap (months of office)",
) -> go.Figure:
    """Waterfall from a neutral value through each factor's Shapley contribution to the scenario value.

    ``parts`` are ``(factor, contribution)``; they sum to ``total - start`` when the decomposition
    is exact (Shapley efficiency), which the chart shows as the last bar. The value axis spans the
    running totals and 0 with :data:`LABEL_ROOM` to spare on each side, so the value labels drawn
    beyond the bars' ends stay inside the figure.
    """
    labels = [wrap(x, LABEL_CHARS) for x in (start_label, *[p for p, _ in parts], end_label)]
    values = [start, *[v for _, v in parts], total]
    measure = ["absolute", *["relative"] * len(parts), "total"]
    ends = np.cumsum([start, *[v for _, v in parts]])
    lo, hi = min(0.0, float(ends.min()), total), max(0.0, float(ends.max()), total)
    span = (hi - lo) or 1.0
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=labels,
            x=values,
            measure=measure,
            connector={"line": {"color": "#999999"}},
            increasing={"marker": {"color": "#d6604d"}},
            decreasing={"marker": {"color": "#4393c3"}},
            totals={"marker": {"color": "#555555"}},
            text=[f"{v:+.3g}" for v in values],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_xaxes(range=[lo - LABEL_ROOM * span, hi + LABEL_ROOM * span], zeroline=True, zerolinecolor="#777777")
    fig.update_yaxes(autorange="reversed")
    height = 160 + 30 * len(labels) + 12 * sum(x.count("<br>") for x in labels)
    return _layout(fig, title, x_title, "", height, hovermode="closest", showlegend=False)


def ranking_bars(
    rows: Sequence[Mapping[str, Any]],
    value: str,
    label: str,
    title: str,
    x_title: str,
    low: str,
    high: str,
    second: str | None = None,
    second_name: str = "",
    floor: float | None = None,
) -> go.Figure:
    """Horizontal bars of ``row[value]`` per ``row[label]``, largest first, with their intervals.

    Used for lever effects and the sensitivity ranking; ``low``/``high`` are interval bounds and
    ``second`` a second value per row (e.g. the first-order index beside the total one). ``floor``
    is the smallest value the quantity can take (0 for Morris' mu* and Sobol indices): an interval
    is cut there rather than drawn below it.
    """
    rows = sorted(rows, key=lambda r: -abs(float(r[value])))
    y = [wrap(str(r[label]), LABEL_CHARS) for r in rows]
    fig = go.Figure()
    lows = [float(r[low]) if floor is None else max(float(r[low]), floor) for r in rows]
    error = {
        "type": "data",
        "symmetric": False,
        "array": [float(r[high]) - float(r[value]) for r in rows],
        "arrayminus": [max(0.0, float(r[value]) - lo) for r, lo in zip(rows, lows, strict=True)],
        "color": "#555555",
    }
    if second is not None:
        fig.add_trace(
            go.Bar(x=[float(r[second]) for r in rows], y=y, orientation="h", name=second_name, marker_color="#bbbbbb")
        )
    fig.add_trace(
        go.Bar(
            x=[float(r[value]) for r in rows],
            y=y,
            orientation="h",
            name=x_title,
            marker_color=BAND,
            error_x=error,
        )
    )
    fig.update_yaxes(autorange="reversed")
    if floor is not None:
        fig.update_xaxes(rangemode="nonnegative" if floor == 0 else "normal")
    height = 140 + 28 * len(rows) + 12 * sum(x.count("<br>") for x in y)
    return _layout(fig, title, x_title, "", height, hovermode="closest", barmode="group", showlegend=second is not None)


def heatmap(
    x: Sequence[float],
    y: Sequence[float],
    z: Sequence[Sequence[float]],
    title: str,
    x_title: str,
    y_title: str,
    z_title: str,
    text: Sequence[Sequence[str]] | None = None,
) -> go.Figure:
    """A two-lever grid: ``z[j][i]`` at intensity ``x[i]`` of one lever and ``y[j]`` of the other.

    The intensities are categories (the axes show exactly the intensities simulated, none below 0);
    each cell shows ``text`` (default: ``z`` to whole units).
    """
    zz = np.asarray(z, dtype=float)
    cells = text if text is not None else [[f"{v:.0f}" for v in row] for row in zz]
    fig = go.Figure(
        go.Heatmap(
            x=[f"{v:g}" for v in x],
            y=[f"{v:g}" for v in y],
            z=zz.tolist(),
            colorscale="Viridis",
            colorbar={"title": {"text": z_title}},
            text=[list(row) for row in cells],
            texttemplate="%{text}",
            hovertemplate=f"{x_title}: %{{x}}<br>{y_title}: %{{y}}<br>%{{text}}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return _layout(fig, title, x_title, y_title, 380, hovermode="closest")
