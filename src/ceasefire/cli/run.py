"""The core commands: ``run``, ``scenarios``, ``validate`` and ``version``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ceasefire import __version__
from ceasefire.cli._app import (
    CoresOpt,
    MkdirOpt,
    QuietOpt,
    ScenarioArg,
    SeedOpt,
    app,
    check_outputs,
    emit_json,
    err,
    fail,
    failing,
    guard_budget,
    load,
    parse_levers,
    progress_task,
    workers_for,
)
from ceasefire.model.engine import BELIEFS, POLICIES


@app.command()
def run(
    scenario: ScenarioArg,
    samples: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="outer parameter samples")] = None,
    paths: Annotated[int | None, typer.Option(min=1, max=10_000_000, help="inner paths per sample")] = None,
    seed: SeedOpt = None,
    horizon: Annotated[int | None, typer.Option(min=1, max=600, help="months simulated")] = None,
    lookahead: Annotated[int | None, typer.Option(min=1, max=120, help="myopic look-ahead, months")] = None,
    policy: Annotated[str, typer.Option(help=f"decision rule: {', '.join(POLICIES)}")] = "optimal",
    beliefs: Annotated[
        str, typer.Option(help="leaders decide with the scenario's optimism ('scenario') or the true model ('true')")
    ] = "scenario",
    compare_beliefs: Annotated[
        bool,
        typer.Option(
            help="also run with true beliefs (same samples and paths) to show how much optimism delays a deal"
        ),
    ] = True,
    lever: Annotated[list[str] | None, typer.Option(help="apply a lever: NAME or NAME=INTENSITY (repeatable)")] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="write summary and per-path outcomes as JSON ('-' for stdout)")
    ] = None,
    parquet: Annotated[
        Path | None, typer.Option(help="write per-path outcomes to Parquet (summary in metadata)")
    ] = None,
    quiet: QuietOpt = False,
    backend: Annotated[
        str, typer.Option(help="engine: 'numpy', or 'jax' (the jax extra; runs on a GPU where jax sees one)")
    ] = "numpy",
    workers: CoresOpt = None,
    mkdir: MkdirOpt = False,
) -> None:
    """Simulate a scenario and print the summary table."""
    from ceasefire.report.table import print_summary
    from ceasefire.run.budget import check_run_memory
    from ceasefire.run.experiment import RunSpec, check_backend
    from ceasefire.run.experiment import run as run_experiment
    from ceasefire.run.store import result_document, write_parquet
    from ceasefire.run.summary import belief_effect, summarize
    from ceasefire.scenario.load import load_scenario, scenario_hash

    if policy not in POLICIES:
        raise fail(f"--policy {policy!r}: expected one of {', '.join(POLICIES)}")
    if beliefs not in BELIEFS:
        raise fail(f"--beliefs {beliefs!r}: expected one of {', '.join(BELIEFS)}")
    try:
        check_backend(backend)
    except ValueError as e:
        raise fail(f"--backend {backend!r}: {e}") from None
    check_outputs(json_out, parquet, mkdir=mkdir)
    with failing():
        sc = load_scenario(scenario)
        digest = scenario_hash(scenario)
        spec = RunSpec.from_scenario(
            sc,
            samples=samples,
            paths=paths,
            seed=seed,
            horizon=horizon,
            lookahead=lookahead,
            policy=policy,
            beliefs=beliefs,
            levers=parse_levers(lever or []),
            backend=backend,
            workers=workers,
        )
        spec.validate(sc)
    compare = compare_beliefs and spec.beliefs == "scenario" and spec.allow_settlement
    guard_budget(
        lambda: check_run_memory(
            spec.samples,
            spec.paths,
            spec.horizon,
            spec.policy,
            runs=1 + compare,
            workers=workers_for(workers),
            objectives=len(sc.objectives),
            json=json_out is not None,
            parquet=parquet is not None,
        )
    )

    show = not quiet and json_out != "-"
    try:  # a CeasefireError is e.g. a NaN named by the numerical guard
        with failing(), progress_task(show, "simulating", total=spec.samples) as track:
            result = run_experiment(sc, spec, progress=lambda done, _: track(done))
            other = None
            if compare:
                track.staged("true beliefs", 0)
                other = run_experiment(
                    sc, replace(spec, beliefs="true"), progress=lambda done, _: track(done), samples_of=result
                )
    except MemoryError as e:
        raise fail(f"not enough memory for {spec.samples} samples x {spec.paths} paths ({e}); use fewer") from None
    summary = summarize(result)
    if other is not None:
        summary = replace(summary, optimism_effect=belief_effect(result, other))
    if show:
        print_summary(summary)
    try:
        if json_out is not None:
            emit_json(json_out, result_document(result, summary, digest, per_path=True), mkdir=mkdir)
        if parquet is not None:
            write_parquet(parquet, result, summary, digest, parents=mkdir)
            err.print(f"wrote {parquet}", highlight=False, soft_wrap=True)
    except OSError as e:
        raise fail(f"could not write results: {e.strerror or e} ({e.filename or ''})") from None


@app.command()
def scenarios() -> None:
    """List the scenarios shipped with ceasefire."""
    from ceasefire.scenario.load import list_scenarios, load_scenario

    for name in list_scenarios():
        typer.echo(f"{name}\t{load_scenario(name).scenario.title}")


@app.command()
def validate(scenario: Annotated[str, typer.Argument(help="a shipped scenario name or a path")]) -> None:
    """Check a scenario file and report every problem found."""
    from ceasefire.scenario.schema import iter_params

    sc = load(scenario)
    params = list(iter_params(sc))
    uncertain = sum(not p.is_fixed for _, p in params)
    typer.echo(
        f"{scenario}: valid — {len(params)} parameters ({uncertain} uncertain), "
        f"{len(sc.sources)} sources, {len(sc.terms)} terms, {len(sc.levers)} levers"
    )


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
