"""Figures of the report and the dashboard: plain data in, :class:`plotly.graph_objects.Figure` out.

Two kinds of pure functions live here:

- *statistics* (``settlement_curves``, ``ceasefire_survival``, ``course_bands``, ``office_hazard``,
  ``gap_bands``) turn per-path arrays of a run into small dicts of lists (JSON-friendly);
- *builders* (``settlement_fan``, ``survival_chart``, ...) turn such dicts into figures.

Nothing here runs the model, reads files or touches the network; Plotly is imported here only,
so ``import ceasefire`` never imports it (the ``viz`` extra).

Months are counted from 0, the scenario's start month; "settled within m months" means a first
settlement in months 0 .. m-1, as in :mod:`ceasefire.run.summary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray
from scipy import stats

SIDE_COLOURS = {"A": "#b2182b", "B": "#2166ac"}
POOLED = "#1b1b1b"
BAND = "#4d7ea8"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

Stats = dict[str, Any]


# -- statistics ---------------------------------------------------------------------------------


def _bands(per_unit: NDArray[np.float64]) -> dict[str, list[float]]:
    """Quantiles :data:`QUANTILES` over the last axis, as lists named ``p05`` .. ``p95``."""
    q = np.quantile(per_unit, QUANTILES, axis=-1)
    return {f"p{round(100 * a):02d}": q[i].tolist() for i, a in enumerate(QUANTILES)}


def settlement_curves(
    first_settlement: NDArray[np.int64], sample: NDArray[np.int64], samples: int, horizon: int
) -> Stats:
    """Probability of a first settlement within ``m`` months, ``m = 0 .. horizon``.

    Parameters
    ----------
    first_settlement
        Per path, the month of the first settlement (``-1``: none within the horizon).
    sample
        Per path, its outer (parameter) sample, ``0 .. samples-1``.

    Returns
    -------
    dict
        ``months``; ``pooled``: the share of all paths settled within each month count;
        ``p05`` .. ``p95``: quantiles over the parameter samples of each sample's own curve (the
        spread due to the uncertain parameters); ``samples``, ``paths`` (per sample).
    """
    first = np.asarray(first_settlement)
    sample = np.asarray(sample)
    if first.shape != sample.shape or first.size == 0:
        raise ValueError("first_settlement and sample must be non-empty arrays of the same shape")
    settled = (first >= 0) & (first < horizon)
    counts = np.zeros((samples, horizon + 1))
    np.add.at(counts, (sample[settled], first[settled] + 1), 1.0)
    per_sample = np.bincount(sample, minlength=samples).astype(float)
    curves = np.cumsum(counts, axis=1) / np.maximum(per_sample, 1.0)[:, None]  # (samples, months)
    pooled = np.cumsum(counts.sum(axis=0)) / first.size
    return {
        "months": list(range(horizon + 1)),
        "pooled": pooled.tolist(),
        **_bands(curves.T),
        "samples": samples,
        "paths": int(first.size // max(samples, 1)),
    }


def ceasefire_survival(
    break_rate: NDArray[np.float64], months_held: NDArray[np.int64], broke: NDArray[np.bool_], months: int
) -> Stats:
    """How long a first ceasefire holds: the model's survival curve and the Kaplan-Meier check.

    Parameters
    ----------
    break_rate
        Per first ceasefire, its constant monthly breakdown probability ``b``.
    months_held, broke
        Per first ceasefire, months it held in the simulation and whether it broke (else it was
        censored at the horizon).
    months
        Length of the curve, months after signing.

    Returns
    -------
    dict
        ``months``; ``model``: ``mean((1 - b)^m)`` over the ceasefires (exact, any ``m``);
        ``km``: the Kaplan-Meier estimate up to the longest observed duration (``None`` beyond);
        ``ceasefires``: how many there were. Empty curves when there were none.
    """
    rate = np.asarray(break_rate, dtype=float)
    m = np.arange(months + 1)
    if rate.size == 0:
        return {"months": m.tolist(), "model": [], "km": [], "ceasefires": 0}
    model = np.mean((1.0 - rate[None, :]) ** m[:, None], axis=1)
    held = np.asarray(months_held, dtype=float)
    broke = np.asarray(broke, dtype=bool)
    data = stats.CensoredData(uncensored=held[broke], right=held[~broke])
    sf = stats.ecdf(data).sf if broke.any() else None
    longest = held.max()
    km: list[float | None] = []
    for k in m:
        if k > longest:
            km.append(None)
        else:
            km.append(1.0 if sf is None else float(sf.evaluate(float(k))))
    return {"months": m.tolist(), "model": model.tolist(), "km": km, "ceasefires": int(rate.size)}


def course_bands(trajectory: NDArray[np.float64]) -> Stats:
    """Median and bands over paths of a monthly trajectory ``(months + 1, paths)``."""
    x = np.asarray(trajectory, dtype=float)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected a (months, paths) array, got shape {x.shape}")
    return {"months": list(range(x.shape[0])), **_bands(x), "mean": x.mean(axis=1).tolist()}


def office_hazard(removal_month: NDArray[np.int64], horizon: int) -> Stats:
    """Monthly hazard that the incumbent leader loses office, estimated from the simulated paths.

    ``h_t`` = incumbents removed in month ``t`` / incumbents still in office at its start; a
    life-table estimate over all paths (at war or at peace, successors not counted).

    Parameters
    ----------
    removal_month
        Per path, the month the incumbent lost office, ``-1`` if he did not within the horizon.
    """
    rm = np.asarray(removal_month)
    removed = rm >= 0
    events = np.bincount(rm[removed], minlength=horizon)[:horizon].astype(float)
    left_before = np.concatenate([[0.0], np.cumsum(events)[:-1]])
    at_risk = rm.size - left_before
    hazard = np.divide(events, at_risk, out=np.full(horizon, np.nan), where=at_risk > 0)
    return {"months": list(range(horizon)), "hazard": hazard.tolist(), "at_risk": at_risk.tolist()}


def gap_bands(gains: Mapping[str, NDArray[np.float64]], at_war: NDArray[np.float64]) -> Stats:
    """Each month, a leader's gap between the best deal on the table and fighting on.

    Parameters
    ----------
    gains
        Per terms option, the leader's gain from settling on it now over fighting on, ``(months, paths)``
        in his value units (NaN where the path is not at war at the decision).
    at_war
        ``(months + 1, paths)``, 1 where at war at the start of a month; only paths at war count.

    Returns
    -------
    dict
        ``months``; quantiles ``p05`` .. ``p95`` over the paths at war of the best gain (positive: he
        prefers some deal to fighting on), ``None`` in months with fewer than 5 paths at war.
    """
    stacked = np.stack([np.asarray(v, dtype=float) for v in gains.values()])  # (terms, months, paths)
    best = np.nanmax(np.where(np.isnan(stacked), -np.inf, stacked), axis=0)
    months = best.shape[0]
    war = np.asarray(at_war, dtype=float)[:months] > 0.5
    out: dict[str, list[float | None]] = {f"p{round(100 * a):02d}": [] for a in QUANTILES}
    for t in range(months):
        v = best[t][war[t] & np.isfinite(best[t])]
        for a in QUANTILES:
            out[f"p{round(100 * a):02d}"].append(float(np.quantile(v, a)) if v.size >= 5 else None)
    return {"months": list(range(months)), **out}


# -- layout helpers -----------------------------------------------------------------------------


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 440) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        font={"family": FONT, "size": 12},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        hovermode="x unified",
    )
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


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, "", "", height=240)


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
    """A first ceasefire's survival: the model's curve and the Kaplan-Meier estimate (:func:`ceasefire_survival`)."""
    if not survival["ceasefires"]:
        return _empty("How long a ceasefire holds", "no ceasefire was signed in the run")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=survival["months"], y=survival["model"], name="model: mean of (1 − b)^m", line={"color": POOLED})
    )
    fig.add_trace(
        go.Scatter(
            x=survival["months"],
            y=survival["km"],
            name="Kaplan–Meier, simulated ceasefires",
            line={"color": BAND, "dash": "dash", "shape": "hv"},
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
    fig = _layout(fig, "Terms of the first settlement", "share of paths", "", height=120 + 40 * len(items))
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


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
    """Each leader's gap between the best deal and fighting on, over the paths at war (:func:`gap_bands`)."""
    fig = go.Figure()
    for name, g in gaps.items():
        colour = (colours or {}).get(name, BAND)
        _band(fig, g["months"], g["p25"], g["p75"], colour, f"{name}: 25–75% of paths at war")
        fig.add_trace(go.Scatter(x=g["months"], y=g["p50"], name=f"{name}: median", line={"color": colour}))
    fig.add_hline(y=0, line={"color": "#777777", "width": 1})
    return _layout(
        fig, "Best deal minus fighting on (> 0: he prefers a deal)", "months from the start", "value (months in office)"
    )


# -- builders: the analyses ---------------------------------------------------------------------


def shapley_waterfall(
    parts: Sequence[tuple[str, float]],
    start: float,
    total: float,
    title: str,
    start_label: str = "neutral",
    end_label: str = "scenario",
) -> go.Figure:
    """Waterfall from a neutral value through each factor's Shapley contribution to the scenario value.

    ``parts`` are ``(factor, contribution)``; they sum to ``total - start`` when the decomposition
    is exact (Shapley efficiency), which the chart shows as the last bar.
    """
    labels = [start_label, *[p for p, _ in parts], end_label]
    values = [start, *[v for _, v in parts], total]
    measure = ["absolute", *["relative"] * len(parts), "total"]
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
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig = _layout(fig, title, "gap (months of office)", "", height=160 + 30 * len(labels))
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def ranking_bars(
    rows: Sequence[Mapping[str, Any]],
    value: str,
    label: str,
    title: str,
    x_title: str,
    low: str | None = None,
    high: str | None = None,
    second: str | None = None,
    second_name: str = "",
) -> go.Figure:
    """Horizontal bars of ``row[value]`` per ``row[label]``, largest first, with optional intervals.

    Used for lever effects and the sensitivity ranking; ``low``/``high`` are interval bounds and
    ``second`` a second value per row (e.g. the total-order index beside the first-order one).
    """
    rows = sorted(rows, key=lambda r: -abs(float(r[value])))
    y = [str(r[label]) for r in rows]
    fig = go.Figure()

    def error(key: str) -> dict[str, Any] | None:
        if low is None or high is None:
            return None
        return {
            "type": "data",
            "symmetric": False,
            "array": [float(r[high]) - float(r[key]) for r in rows],
            "arrayminus": [float(r[key]) - float(r[low]) for r in rows],
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
            error_x=error(value),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, title, x_title, "", height=140 + 28 * len(rows))
    fig.update_layout(hovermode="closest", barmode="group", showlegend=second is not None)
    return fig


def heatmap(
    x: Sequence[float],
    y: Sequence[float],
    z: Sequence[Sequence[float]],
    title: str,
    x_title: str,
    y_title: str,
    z_title: str,
) -> go.Figure:
    """A two-lever grid: ``z[j][i]`` at intensity ``x[i]`` of one lever and ``y[j]`` of the other."""
    zz = np.asarray(z, dtype=float)
    fig = go.Figure(
        go.Heatmap(
            x=list(x),
            y=list(y),
            z=zz.tolist(),
            colorscale="Viridis",
            colorbar={"title": {"text": z_title}},
            text=[[f"{v:.2f}" for v in row] for row in zz],
            texttemplate="%{text}",
        )
    )
    fig = _layout(fig, title, x_title, y_title, height=420)
    fig.update_layout(hovermode="closest")
    return fig


def interval_chart(rows: Sequence[Mapping[str, Any]], title: str) -> go.Figure:
    """Estimates with intervals against thresholds, one row each (``label``, ``estimate``, ``low``,
    ``high``, ``threshold``, ``verdict``); e.g. the claims."""
    colours = {"supported": "#1a9850", "contradicted": "#d73027", "undecided": "#999999"}
    fig = go.Figure()
    for verdict, colour in colours.items():
        sel = [r for r in rows if r.get("verdict") == verdict]
        if not sel:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["estimate"] for r in sel],
                y=[r["label"] for r in sel],
                mode="markers",
                name=verdict,
                marker={"color": colour, "size": 10},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["high"] - r["estimate"] for r in sel],
                    "arrayminus": [r["estimate"] - r["low"] for r in sel],
                    "color": colour,
                },
            )
        )
    with_threshold = [r for r in rows if r.get("threshold") is not None]
    if with_threshold:
        fig.add_trace(
            go.Scatter(
                x=[r["threshold"] for r in with_threshold],
                y=[r["label"] for r in with_threshold],
                mode="markers",
                name="threshold",
                marker={"symbol": "line-ns-open", "size": 16, "color": "#222222"},
            )
        )
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, title, "estimate (interval)", "", height=140 + 32 * len(rows))
    fig.update_layout(hovermode="closest")
    return fig
