"""Sweeps and what is built on them: ``sweep``, ``sensitivity`` and ``discover``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ceasefire.cli._app import (
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
from ceasefire.errors import CeasefireError

PathsOpt = Annotated[
    int | None, typer.Option(min=1, max=10_000_000, help="inner paths per point (common to every point)")
]
POINTS_MAX = 1_048_576
"""Design points of a sweep, a sensitivity analysis or a discovery at most (``ceasefire.run.budget.LIMITS``)."""
HorizonOpt = Annotated[int | None, typer.Option(min=1, max=600, help="months simulated (default: the scenario's)")]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=1024,
        help="local worker processes (default: CEASEFIRE_WORKERS, else the number of CPUs; 1 with --backend jax; "
        "1 runs in-process)",
    ),
]
BackendOpt = Annotated[
    str,
    typer.Option(
        help="engine: 'numpy', or 'jax' (the jax extra; runs on a GPU where jax sees one; the same "
        "distributions as numpy, not the same bits)"
    ),
]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="run on the Dask distributed scheduler at this address (e.g. tcp://host:8786)")
]
OutOpt = Annotated[Path | None, typer.Option(help="folder for the sweep's manifest and Parquet parts (resumable)")]
ResumeOpt = Annotated[bool, typer.Option(help="continue the sweep already in --out where it stopped")]
JsonOpt = Annotated[str | None, typer.Option("--json", help="write the result as JSON to this file ('-' for stdout)")]


def _check_sweep(
    sc: Any, points: int, paths: int | None, horizon: int | None, policy: str | None, workers: int | None
) -> None:
    """Before any work: the memory of ``points`` design points (their table, and each worker simulating whole
    points); a point's columns are the scenario's parameters and the metrics."""
    from ceasefire.run.budget import check_sweep_memory
    from ceasefire.run.sweep import METRICS
    from ceasefire.scenario.schema import iter_params

    m, months = paths or sc.run.paths, horizon or sc.scenario.horizon
    columns = sum(1 for _ in iter_params(sc)) + len(METRICS)
    cores = workers_for(workers)
    guard_budget(lambda: check_sweep_memory(points, columns, m, months, policy or "optimal", workers=cores))


def _read_design(path: Path) -> Any:
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            table = pd.read_csv(path, nrows=POINTS_MAX + 1)
        elif path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            raise fail(f"--design {path}: expected a .csv or .parquet file")
    except (OSError, ValueError) as e:
        raise fail(f"--design {path}: cannot read it ({e})") from None
    if len(table) > POINTS_MAX:
        raise fail(f"--design {path}: more than {POINTS_MAX:,} rows (the most points a sweep takes)")
    return table


@app.command()
def sweep(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option(help="folder for the manifest, the design and one Parquet part per chunk")],
    design: Annotated[
        Path | None, typer.Option(help="the design: CSV or Parquet, columns = parameter paths or lever:ID")
    ] = None,
    n: Annotated[
        int | None, typer.Option("-n", min=1, max=POINTS_MAX, help="instead of --design: a Latin hypercube of N points")
    ] = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    horizon: HorizonOpt = None,
    policy: Annotated[str | None, typer.Option(help="decision rule: optimal or myopic")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="a metric to compute (repeatable; default all)")] = None,
    chunk_rows: Annotated[
        int | None, typer.Option(min=1, max=POINTS_MAX, help="rows per chunk (one Parquet part each)")
    ] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    backend: BackendOpt = "numpy",
    quiet: QuietOpt = False,
) -> None:
    """Evaluate a design (one experiment per row) over common random numbers; results in --out."""
    import time

    from ceasefire.run.executor import executor_for
    from ceasefire.run.sweep import SweepSpec, latin_hypercube, run_sweep

    sc = load(scenario)
    if (design is None) == (n is None):
        raise fail("give either --design FILE or -n N (a Latin hypercube of N points)")
    table_in = _read_design(design) if design is not None else None
    _check_sweep(sc, (n or 1) if table_in is None else len(table_in), paths, horizon, policy, workers)
    with failing():
        spec = SweepSpec.from_scenario(
            sc, paths=paths, seed=seed, horizon=horizon, policy=policy, metrics=metric, backend=backend
        )
        spec.validate()
        if table_in is None:
            table_in = latin_hypercube(sc, n or 1, spec.seed)
        start = time.perf_counter()
        calls: list[int] = []
        with progress_task(not quiet, "sweeping", "points") as track:

            def tracked(done: int, total: int) -> None:
                calls.append(done)
                track(done, total)

            table = run_sweep(
                sc,
                table_in,
                spec,
                executor=executor_for(workers or spec.default_workers(), scheduler),
                chunk_rows=chunk_rows,
                out=out,
                resume=resume,
                progress=tracked,
            )
    seconds = time.perf_counter() - start
    if not quiet:
        kept = f" ({calls[0]} kept from the earlier run)" if resume and calls and calls[0] else ""
        err.print(
            f"{len(table)} points x {spec.paths} paths in {seconds:.1f} s{kept}; results in {out / 'results.parquet'}"
        )
        typer.echo(table.describe().T[["mean", "min", "max"]].to_string(float_format=lambda x: f"{x:.4g}"))


@app.command()
def sensitivity(
    scenario: ScenarioArg,
    # ceasefire.analysis.sensitivity.DEFAULT_OUTPUT (not imported here: the CLI loads pandas lazily)
    output: Annotated[
        str, typer.Option(help="the metric to explain (see `ceasefire sweep --help`)")
    ] = "p_settle_horizon",
    method: Annotated[str, typer.Option(help="sobol (first-order and total indices) or morris (screen)")] = "sobol",
    n: Annotated[
        int | None,
        typer.Option("-N", "-n", min=2, max=POINTS_MAX, help="Sobol base points (a power of 2) or Morris trajectories"),
    ] = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    horizon: HorizonOpt = None,
    lever: Annotated[
        list[str] | None, typer.Option(help="apply a lever at every point: NAME or NAME=INTENSITY")
    ] = None,
    screen: Annotated[
        int,
        typer.Option(
            min=0,
            max=10_000,
            help="Sobol: keep the K parameters a Morris screen ranks highest apart, the rest as one group "
            "(0: every parameter apart)",
        ),
    ] = 12,
    screen_n: Annotated[int, typer.Option(min=2, max=10_000, help="trajectories of that Morris screen")] = 10,
    top: Annotated[int, typer.Option(min=1, max=100_000, help="rows shown in the table (JSON has all)")] = 20,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    backend: BackendOpt = "numpy",
    json_out: JsonOpt = None,
    quiet: QuietOpt = False,
    mkdir: MkdirOpt = False,
) -> None:
    """Which uncertain parameters drive an output: Sobol indices or a Morris screen (SALib), ranked."""
    from ceasefire.analysis.sensitivity import sensitivity as run_sensitivity
    from ceasefire.scenario.schema import iter_params

    check_outputs(json_out, mkdir=mkdir)
    sc = load(scenario)
    # Sobol: N (D + 2) points, a Morris screen first; Morris: N (D + 1); D at most every uncertain parameter
    base = n or 64  # the larger default (Sobol: 64 base points)
    d = sum(not p.is_fixed for _, p in iter_params(sc))
    points = base * (d + 2) + screen_n * (d + 1)
    _check_sweep(sc, points, paths, horizon, None, workers)
    show = not quiet and json_out != "-"
    with failing(), progress_task(show, f"{method} points", "points") as track:
        result = run_sensitivity(
            sc,
            output=output,
            method=method,
            n=n,
            paths=paths,
            seed=seed,
            screen=screen,
            screen_n=screen_n,
            levers=parse_levers(lever or []),
            horizon=horizon,
            backend=backend,
            workers=workers,
            scheduler=scheduler,
            out=out,
            resume=resume,
            progress=track,
        )
    if show:
        _print_sensitivity(result.to_dict(), top)
    emit_json(json_out, result.to_dict(), mkdir=mkdir)


def _console() -> Any:
    """Standard output; wide enough for dotted parameter paths when it is not a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=140)


def _print_sensitivity(doc: dict[str, Any], top: int) -> None:
    from rich.table import Table

    sobol = doc["method"] == "sobol"
    title = (
        f"{'Sobol indices' if sobol else 'Morris screen'} of {doc['output']} — {doc['scenario']}, "
        f"{doc['parameters']} parameters, {doc['evaluations']} points x {doc['paths']} paths, seed {doc['seed']}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("parameter", no_wrap=True)
    table.add_column("source", no_wrap=True)
    cols = ("S1", "S1_conf", "ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf", "sigma")
    heads = ("S1", "± 95%", "ST", "± 95%") if sobol else ("mu*", "± 95%", "sigma")
    for h in heads:
        table.add_column(h, justify="right")
    for i, row in enumerate(doc["rows"][:top], 1):
        table.add_row(
            str(i),
            row["parameter"],
            "various" if len(row.get("members", [])) > 1 else row["source"],
            *("—" if row[c] is None else f"{row[c]:.3g}" for c in cols),
        )
    console = _console()
    if doc.get("screen"):
        console.print(
            f"Morris screen: {doc['screen_evaluations']} points ranked all {doc['parameters']} parameters; "
            f"the top {len(doc['rows']) - 1} keep their own indices, the others are one group",
            highlight=False,
        )
    console.print(table)
    month0 = doc.get("month0_share")
    console.print(
        f"output mean {doc['output_mean']:.4g}, sd {doc['output_sd']:.4g}; "
        + (f"{100 * month0:.1f}% of points settle in month 0 (kept, evaluated as simulated); " if month0 else "")
        + f"{doc['seconds']:.1f} s",
        highlight=False,
    )


@app.command()
def discover(
    scenario: ScenarioArg,
    where: Annotated[str, typer.Option(help="the outcome of interest, e.g. 'p_settle_36 < 0.5' (and, or, not, ( ))")],
    n: Annotated[int, typer.Option("-n", min=2, max=POINTS_MAX, help="Latin-hypercube points")] = 512,
    paths: PathsOpt = 100,
    seed: SeedOpt = None,
    horizon: HorizonOpt = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="density a box must reach")] = 0.8,
    max_boxes: Annotated[int, typer.Option(min=1, max=100, help="boxes to look for, one after another")] = 3,
    dims: Annotated[
        int, typer.Option(min=0, max=10_000, help="peel over the D parameters that best separate the cases (0: all)")
    ] = 6,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    backend: BackendOpt = "numpy",
    json_out: JsonOpt = None,
    quiet: QuietOpt = False,
    mkdir: MkdirOpt = False,
) -> None:
    """Scenario discovery (PRIM): the boxes of assumptions in which the --where condition holds.

    Needs EMA Workbench, an optional extra: pip install 'ceasefire[discover]'."""
    _need_discover()
    from ceasefire.analysis.discover import discover as run_discover
    from ceasefire.analysis.discover import parse_where

    check_outputs(json_out, mkdir=mkdir)
    with failing(CeasefireError):
        condition = parse_where(where)
    sc = load(scenario)
    _check_sweep(sc, n, paths, horizon, None, workers)
    show = not quiet and json_out != "-"
    with failing(), progress_task(show, "points", "points") as track:
        result = run_discover(
            sc,
            condition,
            n=n,
            paths=paths,
            seed=seed,
            threshold=threshold,
            max_boxes=max_boxes,
            dims=dims,
            horizon=horizon,
            backend=backend,
            workers=workers,
            scheduler=scheduler,
            out=out,
            resume=resume,
            progress=track,
        )
    if show:
        _print_discovery(result.to_dict())
    emit_json(json_out, result.to_dict(), mkdir=mkdir)


def _need_discover() -> None:
    """Fail with how to install it unless EMA Workbench (the ``discover`` extra) is importable."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it warns about optional parallel back-ends at import
            import ema_workbench  # noqa: F401
    except ImportError:
        raise fail(
            "scenario discovery needs EMA Workbench, an optional extra: pip install 'ceasefire[discover]' "
            "(or, in a clone, .venv/bin/pip install -e '.[discover]')"
        ) from None


def _print_discovery(doc: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    console.print(
        f"[bold]{doc['where']}[/] holds at {doc['cases']} of {doc['n']} points ({100 * doc['share']:.1f}%) — "
        f"{doc['scenario']}, {doc['paths']} paths per point, seed {doc['seed']}, {doc['seconds']:.1f} s",
        highlight=False,
    )
    if doc["note"]:
        console.print(doc["note"], highlight=False)
    if doc.get("dims") and len(doc["dims"]) <= 20:
        console.print(f"PRIM peeled over: {', '.join(doc['dims'])}", highlight=False)
    for k, box in enumerate(doc["boxes"], 1):
        table = Table(
            title=f"box {k}: coverage {box['coverage']:.2f}, density {box['density']:.2f}, mass {box['mass']:.2f} "
            f"({box['cases']} of {box['points']} points in it)",
            title_justify="left",
        )
        for col in ("parameter", "source", "box", "sampled range", "qp"):
            table.add_column(col, justify="left" if col in ("parameter", "source") else "right")
        for lim in box["limits"]:
            table.add_row(
                lim["parameter"],
                lim["source"],
                f"{lim['low']:.4g} – {lim['high']:.4g}",
                f"{lim['sampled_low']:.4g} – {lim['sampled_high']:.4g}",
                "—" if lim.get("qp") is None else f"{lim['qp']:.2g}",
            )
        console.print(table)
