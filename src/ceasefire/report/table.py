"""The summary table printed by `ceasefire run` (Rich)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from ceasefire.run.summary import Probability, Spread, Summary
from ceasefire.scenario.schema import SIDES


def _pct(p: Probability) -> str:
    return f"{100 * p.p:5.1f}%  ± {100 * p.se:.1f}   [{100 * p.sample_p05:.0f}–{100 * p.sample_p95:.0f}%]"


def _count(s: Spread) -> str:
    return f"{s.median:>11,.0f}   [{s.p05:,.0f} – {s.p95:,.0f}]"


def summary_table(summary: Summary) -> Table:
    """One table with the run's headline numbers."""
    t = Table(
        title=f"{summary.title}\n{summary.samples} samples × {summary.paths} paths, seed {summary.seed}, "
        f"policy {summary.policy} ({summary.beliefs} beliefs), horizon {summary.horizon} months",
        header_style="bold",
        title_justify="left",
    )
    t.add_column("quantity", style="cyan", no_wrap=True)
    t.add_column("value")
    for label, p in summary.settle_within.items():
        t.add_row(f"settlement within {label}", _pct(p))
    for day, p in summary.settle_by.items():
        t.add_row(f"settlement by {day}", _pct(p))
    m = summary.median_month
    shown = f"after the horizon ({summary.horizon} months)" if m is None else f"{m}  ({summary.month_label(m)})"
    t.add_row("median month of settlement", shown)
    if summary.median_month_if_settled is not None:
        t.add_row("  median month, paths that settle", f"{summary.median_month_if_settled:.1f}")
    t.add_section()
    for s in SIDES:
        t.add_row(f"casualties {summary.side_names[s]} until settlement", _count(summary.casualties_to_settlement[s]))
    t.add_row("final line: km² held by A", _count(summary.held_km2))
    t.add_row(
        "final line: share of the area",
        f"{100 * summary.held_share.median:5.1f}%   "
        f"[{100 * summary.held_share.p05:.1f} – {100 * summary.held_share.p95:.1f}%]",
    )
    for obj, share in summary.objectives_taken.items():
        t.add_row(f"  objective taken: {obj}", f"{100 * share:5.1f}%")
    t.add_section()
    for terms, share in sorted(summary.terms_agreed.items(), key=lambda kv: -kv[1]):
        t.add_row(f"terms agreed: {terms}", f"{100 * share:5.1f}%")
    t.add_row("  signed by a successor", f"{100 * summary.under_successor:5.1f}%")
    t.add_section()
    for s in SIDES:
        t.add_row(f"{summary.leader_names[s]} loses office", _pct(summary.removed[s]))
    t.add_section()
    for s in SIDES:
        t.add_row(f"casualties {summary.side_names[s]}, whole horizon", _count(summary.casualties_horizon[s]))
    for year in summary.ceasefire_survival:
        t.add_row(
            f"ceasefire still holds {year.year} year{'s' if year.year > 1 else ''} after signing",
            "n/a (too few ceasefires observed that long)"
            if year.holds is None
            else f"{100 * year.holds:5.1f}%  (monthly hazard in year {year.year}: "
            + ("n/a" if year.hazard is None else f"{100 * year.hazard:.2f}%")
            + ")",
        )
    if summary.ceasefires:
        by = summary.ceasefire_broken_by
        t.add_row(
            "  broken by",
            f"background {100 * by['background']:.0f}%, {summary.leader_names['A']} {100 * by['A']:.0f}%, "
            f"{summary.leader_names['B']} {100 * by['B']:.0f}%",
        )
    effect = summary.optimism_effect
    if effect is not None:
        t.add_section()
        for months, before, after in (
            (12, effect.settle_within_12_scenario, effect.settle_within_12_true),
            (24, effect.settle_within_24_scenario, effect.settle_within_24_true),
        ):
            shown = (
                f"beyond the horizon ({summary.horizon} months)"
                if math.isnan(before)
                else f"{100 * before:5.1f}% → {100 * after:.1f}%"
            )
            t.add_row(f"settlement within {months} months: beliefs → true model", shown)
        t.add_row(
            "delay due to mutual optimism",
            f"{effect.delay_months:+.1f} months at war on average (of the first {summary.horizon})",
        )
    conditioned = (
        f"; {summary.samples} of {summary.samples_drawn} parameter samples drawn are consistent with "
        "no deal at the start"
        if summary.no_deal_at_start
        else ""
    )
    t.caption = (
        "probabilities: pooled value ± Monte Carlo s.e. [5–95% over parameter samples]; counts: median "
        f"[5–95%]{conditioned}\n{summary.ceasefires} ceasefires observed; ceasefire v{summary.version}; "
        f"{summary.seconds:.1f} s"
    )
    return t


def range_table(summary: Summary, rows: int = 14) -> Table | None:
    """The bargaining range by month (a selection of months when there are many; all in --json)."""
    months = summary.bargaining_range
    if not months:
        return None
    months = months if len(months) <= rows else months[:: -(-len(months) // rows)]
    t = Table(
        title="Bargaining range (Fearon): shares of the disputed stake to A that both leaders prefer to fighting on",
        title_justify="left",
        header_style="bold",
    )
    for col in ("month", "paths at war", "range exists", "terms in it", "A accepts from", "B accepts up to"):
        t.add_column(col, justify="right")
    for m in months:
        t.add_row(
            f"{m.month} ({summary.month_label(m.month)})",
            f"{100 * m.at_war:.0f}%",
            f"{100 * m.exists:.1f}%",
            "–" if m.on_table is None else f"{100 * m.on_table:.0f}%",
            f"{m.low:.2f}",
            f"{m.high:.2f}",
        )
    t.caption = (
        "medians over the paths where the range exists; 'terms in it': of those paths, the share where some "
        "terms on the table suit both (elsewhere the menu misses the range); months without a range are left out"
    )
    return t


def print_summary(summary: Summary) -> None:
    console = Console()
    console.print(summary_table(summary))
    console.print(
        range_table(summary)
        or "No bargaining range in any month on any path: no share of the stake suits both leaders."
    )
