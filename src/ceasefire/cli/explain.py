"""The ``explain`` and ``claims`` commands: why a leader does not take a deal, and which claims hold."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ceasefire.cli._app import (
    CoresOpt,
    MkdirOpt,
    QuietOpt,
    ScenarioArg,
    SeedOpt,
    app,
    check_outputs,
    emit_json,
    fail,
    failing,
    guard_budget,
    load,
    progress_task,
    workers_for,
)


@app.command()
def explain(
    scenario: ScenarioArg,
    side: Annotated[str, typer.Option(help="whose calculus: A or B")] = "A",
    month: Annotated[int, typer.Option(min=0, max=600, help="the month of the calculus (0: the start)")] = 0,
    terms: Annotated[
        str | None,
        typer.Option(
            help="explain the gap to these terms (an id); 'best': his best terms; default: the best terms "
            "the other leader would sign"
        ),
    ] = None,
    samples: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="outer parameter samples")] = None,
    paths: Annotated[int | None, typer.Option(min=1, max=10_000_000, help="paths per sample")] = None,
    seed: SeedOpt = None,
    horizon: Annotated[int | None, typer.Option(min=1, max=600, help="months of his stopping problem")] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="write the explanation as JSON ('-' for stdout)")
    ] = None,
    quiet: QuietOpt = False,
    workers: CoresOpt = None,
    mkdir: MkdirOpt = False,
) -> None:
    """Why a leader does not take a deal: his gap between fighting on and the best terms, split
    into the scenario's factors by exact Shapley values."""
    from ceasefire.analysis import explain as ex
    from ceasefire.run.budget import check_run_memory
    from ceasefire.scenario.load import load_scenario

    side = side.upper()
    if side not in ("A", "B"):
        raise fail(f"--side {side!r}: expected A or B")
    check_outputs(json_out, mkdir=mkdir)
    with failing():
        sc = load_scenario(scenario)
        n, m = samples or ex.DEFAULT_SAMPLES, paths or ex.DEFAULT_PATHS
        months = horizon or sc.scenario.horizon
        guard_budget(lambda: check_run_memory(n, m, months, workers=workers_for(workers)))
        show = not quiet and json_out != "-"
        with progress_task(show, "explaining", unit="coalitions") as track:
            result = ex.explain(
                sc,
                side=side,
                month=month,
                terms=terms,
                samples=n,
                paths=m,
                seed=seed,
                horizon=horizon,
                progress=track,
                workers=workers,
            )
    if show:
        print_explanation(result)
    emit_json(json_out, result.to_dict(), mkdir=mkdir)


def print_explanation(e: Any) -> None:
    """The leader's values and the ranked Shapley table, on stdout."""
    from rich.console import Console

    from ceasefire.cli._tables import id_column, narrow_table, print_fitted, text_column, with_id

    out = Console(highlight=False)
    s = e.sizes
    out.print(
        f"[bold]{e.leader}[/] (side {e.side}), month {e.month} — values in months of office "
        f"({s['samples']} samples x {s['paths']} paths, horizon {s['horizon']}, seed {s['seed']}, "
        f"{s['coalitions']} coalitions, {e.seconds:.1f} s)"
    )
    values = narrow_table()
    text_column(values, "option")
    id_column(values, "value", justify="right")
    values.add_row("fight on", f"{e.fight_value:.2f}")
    for t, v in e.terms.items():
        share = e.compared_share.get(t, 0.0)
        mark = "" if share == 0 else "  (compared)" if share == 1 else f"  (compared in {share:.0%} of samples)"
        values.add_row(f"sign {t}{mark}", f"{v:.2f}")
    print_fitted(out, values)
    decomposed = (
        f"; with every factor neutral: {e.neutral_gap:+.2f}; the factors' parts sum to {e.gap - e.neutral_gap:+.2f}"
        if e.factors
        else ""
    )
    out.print(f"gap (fight on - {e.compared_terms}): [bold]{e.gap:+.2f}[/] ± {e.gap_se:.2f}{decomposed}")
    if e.compared_terms != e.best_terms or e.best_share < 1:
        out.print(f"best terms for him: {e.best_terms} (in {e.best_share:.0%} of samples)")
    if not e.factors:
        # markup off: Rich would read "[[factors]]" as a tag and print "[]"
        out.print("the scenario declares no [[factors]] for this side: the gap is not decomposed", markup=False)
        return
    table = narrow_table("Shapley decomposition of the gap")
    text_column(table, "factor (id)")
    for col in ("shapley", "± s.e.", "share"):
        id_column(table, col, justify="right")
    id_column(table, "source")
    for f in e.factors:
        share = "" if f.share is None else f"{f.share:.0%}"
        table.add_row(with_id(f.name, f.id), f"{f.shapley:+.2f}", f"{f.se:.2f}", share, f.source)
    print_fitted(out, table)


@app.command()
def claims(
    scenario: ScenarioArg,
    samples: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="outer parameter samples")] = None,
    paths: Annotated[int | None, typer.Option(min=1, max=10_000_000, help="inner paths per sample")] = None,
    seed: SeedOpt = None,
    horizon: Annotated[int | None, typer.Option(min=1, max=600, help="months simulated")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="write the report as JSON ('-' for stdout)")] = None,
    quiet: QuietOpt = False,
    mkdir: MkdirOpt = False,
) -> None:
    """Check the scenario's claims against the model (supported, contradicted, undecided) and its
    sources' figures against each other."""
    from ceasefire.analysis.claims import check_claims, runs_needed
    from ceasefire.run.budget import check_run_memory

    check_outputs(json_out, mkdir=mkdir)
    sc = load(scenario)
    if not sc.claims and not sc.consistency:
        raise fail(f"scenario '{sc.scenario.id}' has no [[claims]] and no [[consistency]] checks")
    n, m, months = samples or sc.run.samples, paths or sc.run.paths, horizon or sc.scenario.horizon
    guard_budget(lambda: check_run_memory(n, m, months, runs=runs_needed(sc), objectives=len(sc.objectives)))
    show = not quiet and json_out != "-"
    with failing(), progress_task(show, "baseline") as track:
        report = check_claims(sc, samples=samples, paths=paths, seed=seed, horizon=horizon, progress=track.staged)
    if show:
        print_claims(report)
    emit_json(json_out, report.to_dict(), mkdir=mkdir)


def print_claims(report: Any) -> None:
    """The claims table and the consistency checks, on stdout."""
    from rich.console import Console
    from rich.text import Text

    from ceasefire.cli._tables import id_column, narrow_table, print_fitted, text_column

    out = Console(highlight=False)
    s = report.sizes
    out.print(
        f"[bold]{report.scenario}[/]: {len(report.claims)} claims ({s['samples']} samples x {s['paths']} paths, "
        f"horizon {s['horizon']}, seed {s['seed']}, {s['runs']} runs, 95% intervals by cluster bootstrap over "
        f"samples, {report.seconds:.1f} s)"
    )
    colour = {"supported": "green", "contradicted": "red", "undecided": "yellow"}
    table = narrow_table()
    id_column(table, "claim, source")
    text_column(table, "quantity, claimed")
    text_column(table, "estimate [95%]", justify="right")
    text_column(table, "verdict (without dynamics)")
    for c in report.claims:
        claimed = c.rule.split(":")[0].removeprefix("estimate ")
        who = Text(c.id)
        who.append("\n" + c.source, style="dim")
        verdict = Text(c.verdict, style=colour[c.verdict])
        if getattr(c, "reason", None):
            verdict.append(" — beyond the horizon", style=colour[c.verdict])
        # the verdict with the model's dynamics switched off, under it: by construction where the same
        verdict.append(f"\nwithout dynamics: {c.null_display}, {c.null_verdict}", style="dim")
        if c.by_construction:
            verdict.append("\nby construction", style="bold")
        what = Text(c.quantity)
        what.append(f"\nclaimed: {claimed}", style="bold")
        table.add_row(who, what, c.display, verdict)
    if report.claims:
        print_fitted(out, table)
        flagged = [c.id for c in report.claims if c.by_construction]
        out.print(
            f"{len(flagged)} of {len(report.claims)} verdicts are the same with the model's dynamics switched off "
            "(by construction: they follow from the inputs)" + (f": {', '.join(flagged)}" if flagged else "")
        )
    if report.inconsistencies:
        checks = narrow_table("Consistency of the sources' figures")
        id_column(checks, "check")
        id_column(checks, "result")
        text_column(checks, "explanation")
        for r in report.inconsistencies:
            result = "[green]consistent[/]" if r.consistent else "[red]contradiction[/]"
            checks.add_row(r.id, result, r.explanation)
        print_fitted(out, checks)
