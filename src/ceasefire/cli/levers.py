"""``ceasefire levers``: what each lever changes, two-lever grids, and the price of peace."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ceasefire.cli._app import (
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
    progress_task,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

    from ceasefire.analysis.levers import LeverEffects, LeverGrid
    from ceasefire.analysis.price import PriceOfPeace


def _numbers(option: str, text: str) -> tuple[float, ...]:
    from ceasefire.run.budget import LIMITS

    most = LIMITS["intensities"].high
    shown = text if len(text) <= 80 else text[:79] + "…"
    parts = [v for v in text.split(",", most) if v.strip()]
    if len(parts) > most:
        raise fail(f"{option} {shown!r}: at most {most} numbers ({LIMITS['intensities'].why})")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        raise fail(f"{option} {shown!r}: expected numbers separated by commas, e.g. 0.25,0.5,1") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise fail(f"{option} {shown!r}: expected finite numbers separated by commas, e.g. 0.25,0.5,1")
    return values


def _names(option: str, text: str, count: int | None = None) -> list[str]:
    names = [v.strip() for v in text.split(",", 1000)]
    if any(not n for n in names) or (count is not None and len(names) != count) or len(names) > 999:
        want = f"{count} lever names" if count else "lever names"
        shown = text if len(text) <= 80 else text[:79] + "…"
        raise fail(f"{option} {shown!r}: expected {want} separated by a comma, e.g. carrot,steady-aid")
    return names


LONGEST_WINDOW = 24
"""Lever effects and grids report settlement within 12 and 24 months."""


def _check_horizon(months: int, price: bool, within: int) -> None:
    """Refuse a horizon too short to decide what is reported: a settlement after the horizon is unknown,
    not absent, so a window longer than the horizon cannot be estimated."""
    if price and within > months:
        raise fail(
            f"--within {within}: a settlement within {within} months is beyond the horizon ({months} months); "
            f"use --horizon {within} or more, or a shorter --within"
        )
    if not price and months < LONGEST_WINDOW:
        raise fail(
            f"lever effects report settlement within 12 and {LONGEST_WINDOW} months, beyond the horizon ({months} "
            f"months); use --horizon {LONGEST_WINDOW} or more"
        )


@app.command()
def levers(
    scenario: ScenarioArg,
    intensities: Annotated[
        str | None, typer.Option(help="lever intensities, comma-separated (default 0.25,0.5,1; a grid adds 0)")
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, max=1_000_000, help="outer parameter samples (default 100)")
    ] = None,
    paths: Annotated[int | None, typer.Option(min=1, max=4096, help="inner paths per sample (default 100)")] = None,
    seed: SeedOpt = None,
    horizon: Annotated[int | None, typer.Option(min=1, max=600, help="months simulated")] = None,
    policy: Annotated[str | None, typer.Option(help="decision rule: optimal or myopic")] = None,
    only: Annotated[str | None, typer.Option(help="only these levers, comma-separated")] = None,
    certain: Annotated[
        bool, typer.Option(help="also simulate each lever as certain (credibility 1), to show what credibility costs")
    ] = True,
    grid: Annotated[str | None, typer.Option(help="two levers A,B: P(settlement) at every pair of intensities")] = None,
    target: Annotated[
        float | None, typer.Option(help="price of peace: the cheapest package reaching this probability")
    ] = None,
    within: Annotated[
        int | None,
        typer.Option(min=1, max=600, help="price of peace: of a settlement within this many months (default 12)"),
    ] = None,
    search_samples: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="price of peace: samples of the search runs (default 24)")
    ] = None,
    search_paths: Annotated[
        int | None, typer.Option(min=1, max=4096, help="price of peace: paths of the search runs (default 24)")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, max=1_000, help="price of peace: intensity steps per lever (20)")
    ] = None,
    popsize: Annotated[
        int | None, typer.Option(min=1, max=200, help="price of peace: population multiplier (8)")
    ] = None,
    maxiter: Annotated[
        int | None, typer.Option(min=1, max=1_000, help="price of peace: generations at most (15)")
    ] = None,
    screen: Annotated[
        bool, typer.Option(help="price of peace: leave out levers that alone do not raise the probability")
    ] = True,
    json_out: Annotated[str | None, typer.Option("--json", help="write the results as JSON ('-' for stdout)")] = None,
    quiet: QuietOpt = False,
    mkdir: MkdirOpt = False,
) -> None:
    """What each lever changes (settlement within 12 and 24 months, casualties, the ceasefire's
    survival), a two-lever grid (--grid A,B), or the price of peace (--target P --within M)."""
    from ceasefire.analysis import levers as lev
    from ceasefire.analysis import price
    from ceasefire.model.engine import POLICIES
    from ceasefire.run.budget import check_run_memory
    from ceasefire.scenario.load import load_scenario, scenario_hash

    if grid is not None and target is not None:
        raise fail("choose one of --grid and --target")
    if within is not None and target is None:
        raise fail("--within goes with --target (the price of peace)")
    if policy is not None and policy not in POLICIES:
        raise fail(f"--policy {policy!r}: expected one of {', '.join(POLICIES)}")
    if target is not None and not 0.0 < target <= 1.0:
        raise fail(f"--target {target:g}: expected a probability in (0, 1]")
    check_outputs(json_out, mkdir=mkdir)
    xs = _numbers("--intensities", intensities) if intensities is not None else None
    chosen = _names("--only", only) if only is not None else None
    pair = _names("--grid", grid, 2) if grid is not None else None
    with failing():
        sc = load_scenario(scenario)
        digest = scenario_hash(scenario)
        for names in filter(None, (chosen, pair)):  # unknown names before the baseline run (minutes)
            lev.named_levers(sc, sorted(set(names)))
    n, m, months = samples or lev.DEFAULT_SAMPLES, paths or lev.DEFAULT_PATHS, horizon or sc.scenario.horizon
    _check_horizon(months, target is not None, 12 if within is None else within)
    guard_budget(lambda: check_run_memory(n, m, months, objectives=len(sc.objectives)))

    show = not quiet and json_out != "-"
    sizes: dict[str, Any] = {"samples": samples, "paths": paths, "seed": seed, "horizon": horizon, "policy": policy}
    result: LeverEffects | LeverGrid | PriceOfPeace
    with progress_task(show, "baseline", unit="", total=1) as track, failing():
        if target is not None:
            tuning: dict[str, Any] = {"search_samples": search_samples, "search_paths": search_paths,
                                      "steps": steps, "popsize": popsize, "maxiter": maxiter}  # fmt: skip
            result = price.price_of_peace(
                sc, target, 12 if within is None else within, levers=chosen, screen=screen, progress=track.staged,
                **sizes, **{k: v for k, v in tuning.items() if v is not None},
            )  # fmt: skip
        else:
            base = lev.baseline_run(sc, progress=track, **sizes)
            track.staged("lever packages", 0)
            if pair is not None:
                result = lev.lever_grid(sc, pair[0], pair[1], intensities=xs or (0.0, *lev.DEFAULT_INTENSITIES),
                                        baseline=base, progress=track)  # fmt: skip
            else:
                result = lev.lever_effects(sc, intensities=xs or lev.DEFAULT_INTENSITIES, levers=chosen,
                                           certain=certain, baseline=base, progress=track)  # fmt: skip
    kind = {"PriceOfPeace": "price_of_peace", "LeverGrid": "lever_grid"}.get(type(result).__name__, "lever_effects")
    doc = {"analysis": kind, "scenario_sha256": digest, **result.to_dict()}
    if show:
        from rich.console import Console

        from ceasefire.cli._tables import print_fitted

        out = Console()
        if isinstance(result, price.PriceOfPeace):
            print_fitted(out, _price_table(sc.scenario.title, result))
        elif isinstance(result, lev.LeverGrid):
            print_fitted(out, *_grid_tables(sc.scenario.title, result))
        else:
            print_fitted(out, *_effects_tables(sc.scenario.title, result))
            if result.skipped:
                out.print(f"skipped (above the lever's largest intensity): {', '.join(result.skipped)}")
    emit_json(json_out, doc, mkdir=mkdir)


# -- tables -----------------------------------------------------------------------------------
def _pts(d: float | None, se: float | None = None) -> str:
    """A change in probability, in percentage points, with one standard error if given."""
    if d is None or d != d:
        return "–"
    return f"{100 * d:+.1f}" + ("" if se is None else f" ± {100 * se:.1f}")


def _level(e: Any) -> str:
    """A probability in % ± one standard error, or why there is none (a horizon too short, no ceasefire)."""
    if e.value != e.value:
        return "not observed (beyond the horizon, or no ceasefire)"
    return f"{100 * e.value:.1f}% ± {100 * e.se:.1f}"


def _thousands(d: float, se: float) -> str:
    if d != d:
        return "–"
    return f"{d / 1000:+,.1f}k ± {se / 1000:.1f}k"


def _heading(*lines: str) -> Text:
    """A table's title as text of its own, wrapped to the console (a long title would widen the table)."""
    from rich.text import Text

    text = Text("\n" + lines[0], style="bold")
    for line in lines[1:]:
        text.append("\n" + line, style="default")
    return text


def _table(*columns: str) -> Table:
    """A narrow table whose first column holds ids (never broken) and whose others hold numbers."""
    from ceasefire.cli._tables import id_column, narrow_table, text_column

    t = narrow_table()
    id_column(t, columns[0])
    for name in columns[1:]:
        text_column(t, name, justify="right")
    return t


def _effects_tables(title: str, e: LeverEffects) -> list[RenderableType]:
    """The probability of settlement (and what credibility costs), then casualties and the
    ceasefire's survival."""
    b = e.baseline
    units = {r.cost_unit for r in e.rows}
    unit = units.pop() if len(units) == 1 else ""
    sizes = f"{e.samples} samples × {e.paths} paths, seed {e.seed}, horizon {e.horizon} months, policy {e.policy}"
    how = (
        "change against no lever on the same samples and paths (ΔP in percentage points), "
        "± one standard error (clustered by sample)"
    )
    settle = _table("lever", "x", "cost", "ΔP 12 mo", "certain", "ΔP 24 mo", "certain")
    harm = _table("lever", "x", "cred.", "Δ casualties A", "Δ casualties B", "ΔP holds 2 y")
    last = None
    for r in e.rows:
        if last is not None and r.lever != last:
            settle.add_section()
            harm.add_section()
        last = r.lever
        cost = f"{r.cost:,.1f}" + ("" if unit else f" {r.cost_unit}")
        settle.add_row(
            r.lever,
            f"{r.intensity:g}",
            cost,
            _pts(r.d_p12, r.d_p12_se),
            _pts(r.d_p12_certain),
            _pts(r.d_p24, r.d_p24_se),
            _pts(r.d_p24_certain),
        )
        harm.add_row(
            r.lever,
            f"{r.intensity:g}",
            f"{r.credibility:.2f}",
            _thousands(r.d_casualties_A, r.d_casualties_A_se),
            _thousands(r.d_casualties_B, r.d_casualties_B_se),
            _pts(r.d_holds, r.d_holds_se),
        )
    return [
        _heading(
            f"Lever effects on a settlement: {title}",
            sizes,
            how,
            f"without levers: within 12 months {_level(b['p12'])}, within 24 months {_level(b['p24'])}",
            f"x: intensity; cost: expected{', in ' + unit if unit else ''}; certain: the change if the lever were "
            "carried out for sure (credibility 1; its standard errors are in the JSON)",
        ),
        settle,
        _heading(
            f"Lever effects on casualties and the ceasefire: {title}",
            sizes,
            how,
            f"without levers: casualties A {b['casualties_A'].value:,.0f}, B {b['casualties_B'].value:,.0f} "
            f"over the horizon; a ceasefire holds 2 years with probability {_level(b['holds'])}",
            "cred.: the lever's mean credibility (the probability it is carried out and sustained)",
        ),
        harm,
    ]


def _grid_tables(title: str, g: LeverGrid) -> list[RenderableType]:
    out: list[RenderableType] = []
    for months, p, se, d, dse in (
        (12, g.p12, g.p12_se, g.d_p12, g.d_p12_se),
        (24, g.p24, g.p24_se, g.d_p24, g.d_p24_se),
    ):
        t = _table("rows \\ columns", *(f"{y:g}" for y in g.intensities_b))
        t.add_section()
        for i, x in enumerate(g.intensities_a):
            cells = [
                f"{100 * p[i][j]:.1f} ± {100 * se[i][j]:.1f}\nno lever"
                if i == j == 0
                else f"{100 * p[i][j]:.1f}\n{100 * d[i][j]:+.1f} ± {100 * dse[i][j]:.1f}"
                for j in range(len(g.intensities_b))
            ]
            t.add_row(f"{x:g}", *cells)
            t.add_section()
        out.append(
            _heading(
                f"P(settlement within {months} months): {title}",
                f"rows: {g.a} at each intensity; columns: {g.b}; {g.samples} samples × {g.paths} paths, "
                f"seed {g.seed}, horizon {g.horizon} months",
                "each cell: the probability in %, then its change against no lever in percentage points ± one "
                "standard error (paired on the same samples and paths)",
            )
        )
        out.append(t)
    return out


def _price_table(title: str, f: PriceOfPeace) -> Table:
    from ceasefire.cli._tables import narrow_table

    t = narrow_table(
        f"The price of peace: {title}\nthe cheapest package with P(settlement within {f.within} months) "
        f">= {f.target:.0%}"
    )
    t.show_header = False
    t.add_column("quantity", style="cyan", ratio=1)
    t.add_column("value", ratio=3)
    t.add_row("verdict", f.verdict)
    used = {k: x for k, x in f.package.items() if x > 0}
    t.add_row("package", ", ".join(f"{k} = {x:g}" for k, x in used.items()) or "no lever")
    t.add_row("expected cost", f"{f.cost:,.1f} {f.cost_unit}  [{f.cost_p05:,.1f} – {f.cost_p95:,.1f}, 5–95%]")
    p, b = f.probability, f.baseline
    t.add_row(
        f"P(settlement within {f.within} months)",
        f"{100 * p.value:.1f}% ± {100 * p.se:.1f} with the package, {100 * b.value:.1f}% ± {100 * b.se:.1f} "
        f"without ({f.samples} samples × {f.paths} paths, seed {f.seed})",
    )
    if f.at_max is not None:
        t.add_row("every lever at its largest intensity", f"{100 * f.at_max.value:.1f}% ± {100 * f.at_max.se:.1f}")
    t.add_row(
        "search",
        f"{f.search_samples} samples × {f.search_paths} paths, seed {f.search_seed}: estimated "
        f"{100 * f.search_probability:.1f}% (the level without levers above plus the package's change on the "
        f"search runs); {f.evaluations} packages in {f.generations} generations",
    )
    t.add_row("levers considered", ", ".join(f.levers))
    if f.dropped:
        t.add_row("left out of the search", ", ".join(f.dropped) + " (alone, at most, no rise in the probability)")
    t.add_row("optimizer", f.optimizer)
    return t
