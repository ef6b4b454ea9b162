"""``ceasefire backtest``: the library's historical wars run through the model and set against their real end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ceasefire.cli._app import CoresOpt, QuietOpt, app, emit_json, failing, progress_task

if TYPE_CHECKING:
    from ceasefire.analysis.backtest import Backtest


@app.command()
def backtest(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="historical scenarios (shipped names or paths); default: every one with a recorded end"),
    ] = None,
    samples: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="outer samples (default 40)")] = None,
    paths: Annotated[int | None, typer.Option(min=1, max=10_000_000, help="paths per sample (default 100)")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="random seed (default: each scenario's own)")] = None,
    window: Annotated[int | None, typer.Option(min=0, help="months either side of the real end (default 2)")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="write the results as JSON ('-' for stdout)")] = None,
    quiet: QuietOpt = False,
    workers: CoresOpt = None,
) -> None:
    """Where each war's real settlement falls in the model's distribution of settlement months, and
    how often the model settles on the terms really signed."""
    from ceasefire.analysis import backtest as bt
    from ceasefire.scenario.load import load_scenario

    names = scenarios or list(bt.HISTORY)
    show = not quiet and json_out != "-"
    results: list[Backtest] = []
    with failing():
        loaded = [load_scenario(name) for name in names]
        for sc in loaded:
            bt.history_of(sc)  # every scenario is a back-test before any is run
        with progress_task(show, "") as track:
            for sc in loaded:
                track.staged(sc.scenario.id, 0, samples or bt.DEFAULT_SAMPLES)
                results.append(
                    bt.backtest(
                        sc,
                        samples=samples or bt.DEFAULT_SAMPLES,
                        paths=paths or bt.DEFAULT_PATHS,
                        seed=seed,
                        window=bt.DEFAULT_WINDOW if window is None else window,
                        workers=workers,
                        progress=track,
                    )
                )
    if show:
        print_backtests(results)
    emit_json(json_out, {"backtests": [r.to_dict() for r in results]})


def _pct(p: float | None) -> str:
    return "-" if p is None else f"{100 * p:.1f}%"


def print_backtests(results: list[Backtest]) -> None:
    """One table per back-test, then a one-line-per-war summary, on stdout."""
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False)
    for r in results:
        t = Table(
            title=f"{r.war} ({r.scenario}): {r.samples} samples x {r.paths} paths, seed {r.seed}, "
            f"horizon {r.horizon} months",
            title_justify="left",
        )
        t.add_column("quantity")
        t.add_column("value", justify="right")
        t.add_row("real settlement", f"{r.ended}, month {r.real_month}, on '{r.real_terms}'")
        lo5, hi95 = r.percentile_samples
        se = "" if r.percentile_se is None else f" ± {r.percentile_se:.1f}"
        t.add_row("percentile of the real month", f"{r.percentile:.1f}{se}  [{lo5:.0f}-{hi95:.0f}]")
        t.add_row(f"settled by month {r.real_month}", _pct(r.p_by))
        lo, hi = max(r.real_month - r.window, 0), r.real_month + r.window
        t.add_row(f"settled in months {lo}-{hi}", _pct(r.p_window))
        t.add_row("settled within the horizon", _pct(r.p_settled))
        t.add_row("median month of settlement", "after the horizon" if r.median_month is None else str(r.median_month))
        t.add_row("modal outcome", f"{r.modal_terms} ({_pct(r.terms[r.modal_terms])})")
        if r.modal_terms_if_settled is not None:
            t.add_row("  modal terms, paths that settle", r.modal_terms_if_settled)
        t.add_row(f"on the real terms '{r.real_terms}'", _pct(r.share_real_terms))
        t.add_row("  of the paths that settle", _pct(r.share_real_terms_if_settled))
        t.add_row("signed by a successor", _pct(r.under_successor))
        for side, share in r.under_successor_of.items():
            real = " (so in fact)" if side in r.successor_signed else ""
            t.add_row(f"  after side {side}'s leader fell{real}", _pct(share))
        t.caption = (
            "percentile: 100 x (P(T < m) + P(T = m) / 2) over first-settlement months T, never settled "
            "counted after the horizon; ± Monte Carlo s.e. [5-95% over parameter samples]"
        )
        out.print(t)
    if len(results) > 1:
        t = Table(title="Back-tests", title_justify="left")
        for col in ("scenario", "month", "percentile", "on real terms"):
            t.add_column(col, justify="left" if col == "scenario" else "right")
        for r in results:
            t.add_row(r.scenario, str(r.real_month), f"{r.percentile:.1f}", _pct(r.share_real_terms))
        out.print(t)
