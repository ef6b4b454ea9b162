"""The presentation commands: ``report`` (one self-contained HTML file) and ``serve`` (the dashboard).

Both need the ``viz`` extra (Plotly, Dash); they import it lazily so ``ceasefire --help`` stays fast.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ceasefire.cli._app import (
    MkdirOpt,
    ScenarioArg,
    SeedOpt,
    app,
    check_outputs,
    err,
    fail,
    failing,
    guard_budget,
    load,
    progress_task,
)


def _need_viz() -> None:
    try:
        import dash  # noqa: F401
        import plotly  # noqa: F401
    except ImportError:
        raise fail("this command needs the 'viz' extra: pip install 'ceasefire[viz]'") from None


def _sections(sections: str | None, quick: bool) -> tuple[str, ...]:
    from ceasefire.analysis.report_data import ANALYSIS_SECTIONS

    if quick:
        return ()
    if sections is None:
        return ANALYSIS_SECTIONS
    chosen = tuple(s.strip() for s in sections.split(",") if s.strip())
    unknown = [s for s in chosen if s not in ANALYSIS_SECTIONS]
    if unknown:
        raise fail(f"--sections: unknown section(s) {', '.join(unknown)}; choose from {', '.join(ANALYSIS_SECTIONS)}")
    return chosen


def _check_report(
    scenario: str, samples: int | None, paths: int | None, horizon: int | None, sections: tuple[str, ...]
) -> None:
    """Before any work: a horizon that decides every section shown, and the headline run's memory (the
    analysis sections run at their own small sizes)."""
    from ceasefire.run.budget import check_run_memory

    sc = load(scenario)
    n, m, months = samples or sc.run.samples, paths or sc.run.paths, horizon or sc.scenario.horizon
    if "levers" in sections and months < 24:
        raise fail(
            f"the report's levers section shows settlement within 12 and 24 months, beyond the horizon ({months} "
            "months); use --horizon 24 or more, or --sections without levers"
        )
    check_run_memory(n, m, months, runs=2, objectives=len(sc.objectives))


@app.command()
def report(
    scenario: ScenarioArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="the HTML file to write ('-' for stdout)")] = Path(
        "report.html"
    ),
    samples: Annotated[
        int | None, typer.Option(min=1, max=1_000_000, help="outer parameter samples (headline run)")
    ] = None,
    paths: Annotated[
        int | None, typer.Option(min=1, max=10_000_000, help="inner paths per sample (headline run)")
    ] = None,
    seed: SeedOpt = None,
    horizon: Annotated[int | None, typer.Option(min=1, max=600, help="months simulated")] = None,
    sections: Annotated[
        str | None,
        typer.Option(
            help="analysis sections to include, comma-separated: why, levers, claims, sensitivity (default: all)"
        ),
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="no analysis sections: the model run only")] = False,
    why_samples: Annotated[
        int | None, typer.Option(min=1, help="why: samples of each coalition (default: ceasefire explain's)")
    ] = None,
    why_paths: Annotated[
        int | None, typer.Option(min=1, help="why: paths of each coalition (default: ceasefire explain's)")
    ] = None,
    analysis_samples: Annotated[
        int, typer.Option(min=1, max=100_000, help="samples per evaluation of the price's search")
    ] = 12,
    analysis_paths: Annotated[
        int, typer.Option(min=1, max=4096, help="paths per evaluation of the Morris screen and the price's search")
    ] = 24,
    lever_width: Annotated[
        float,
        typer.Option(min=0.1, max=50.0, help="lever study: add samples until each 95% interval is ± this (points)"),
    ] = 3.0,
    lever_paths: Annotated[
        int | None, typer.Option(min=1, help="lever study: paths per sample (default: a quarter of --paths)")
    ] = None,
    lever_max_samples: Annotated[
        int | None, typer.Option(min=1, help="lever study: samples at most (default: five times --samples)")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="also print it to PDF (same name, .pdf) with Chromium")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    mkdir: MkdirOpt = False,
) -> None:
    """Write one self-contained HTML report (opens offline; Plotly embedded)."""
    _need_viz()
    check_outputs(output, mkdir=mkdir)
    if pdf and str(output) == "-":
        raise fail("--pdf needs --output to name a file (the PDF is written beside it)")
    chosen = _sections(sections, quick)
    guard_budget(lambda: _check_report(scenario, samples, paths, horizon, chosen))
    from ceasefire.analysis.report_compute import compute_report
    from ceasefire.analysis.report_data import ReportOptions
    from ceasefire.report.html import render_report, write_pdf
    from ceasefire.run.store import write_atomic

    start = time.perf_counter()
    with failing():
        options = ReportOptions(
            samples=samples,
            paths=paths,
            seed=seed,
            horizon=horizon,
            sections=chosen,
            why_samples=why_samples,
            why_paths=why_paths,
            analysis_samples=analysis_samples,
            analysis_paths=analysis_paths,
            lever_half_width=lever_width / 100,
            lever_paths=lever_paths,
            lever_max_samples=lever_max_samples,
        )
        with progress_task(not quiet, "loading", "‰ of the report", total=1) as track:
            data = compute_report(scenario, options, track.staged)
    page = render_report(data)
    try:
        write_atomic(output, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    except OSError as e:
        raise fail(f"could not write the report: {e.strerror or e} ({e.filename or output})") from None
    for section, why in data.unavailable.items():
        if why != "left out on request":
            err.print(f"[yellow]note:[/] section '{section}' left out: {why}", highlight=False)
    err.print(f"wrote {output} ({len(page) / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s", highlight=False)
    if pdf:
        target = output.with_suffix(".pdf")
        with failing(RuntimeError):
            write_pdf(output, target)
        err.print(f"wrote {target}", highlight=False)


def check_listen(host: str, port: int) -> None:
    """Refuse, before announcing a URL, an address this machine cannot listen on: a name that does not
    resolve, an address that is not valid or not this machine's, a port already taken."""
    import socket

    shown = host if len(host) <= 80 else host[:79] + "…"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError) as e:
        raise fail(f"--host {shown!r}: not an address or a name this machine can resolve ({e})") from None
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as e:
        raise fail(f"cannot listen on {shown} port {port}: {e.strerror or e}") from None


@app.command()
def serve(
    scenario: Annotated[
        str | None, typer.Argument(help="scenario shown first (a shipped name or one in --scenarios-dir)")
    ] = None,
    host: Annotated[str, typer.Option(help="address to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 8050,
    scenarios_dir: Annotated[
        Path | None, typer.Option(help="a folder of extra scenario .toml files offered besides the shipped ones")
    ] = None,
) -> None:
    """Start the local dashboard (Dash): sliders for levers and assumptions, live settlement curves."""
    _need_viz()
    from ceasefire.web.app import create_app

    check_listen(host, port)
    with failing():
        dash_app = create_app(scenario, scenarios_dir=scenarios_dir)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] binding to {host}: the dashboard has no authentication", highlight=False)
    err.print(f"ceasefire dashboard on http://{host}:{port}/  (Ctrl-C to stop)", highlight=False)
    dash_app.run(host=host, port=port, debug=False)
