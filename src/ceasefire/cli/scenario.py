"""The scenario commands: ``show`` (what a scenario contains) and ``new`` (a template to start from)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ceasefire.cli._app import ScenarioArg, app, err, fail, failing, load
from ceasefire.errors import CeasefireError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ceasefire.scenario.params import AnyParam
    from ceasefire.scenario.schema import Scenario


@app.command()
def show(scenario: ScenarioArg) -> None:
    """What a scenario contains: its sides and leaders, the terms that can be on the table, the
    levers, the factors of the leaders' calculus and the claims, each with its source, then the
    sources themselves.

    The ids shown are those the other commands take (--lever, --terms, --only, --grid)."""
    from rich.console import Console

    from ceasefire.cli._tables import print_fitted

    print_fitted(Console(highlight=False), *scenario_overview(load(scenario)))


def _param(p: AnyParam) -> str:
    """A parameter as written: its value or distribution."""
    return p.describe() + (f" {p.unit}" if p.unit else "")


def _sources(*params: AnyParam) -> str:
    return ", ".join(dict.fromkeys(p.source for p in params))


def scenario_overview(sc: Scenario) -> list[RenderableType]:
    """The tables of ``ceasefire show``: sides and leaders, aims, terms, levers, factors, claims, sources."""
    from rich.text import Text

    from ceasefire.cli._tables import id_column, narrow_table, text_column
    from ceasefire.scenario.schema import SIDES, iter_params

    meta = sc.scenario
    params = list(iter_params(sc))
    uncertain = sum(not p.is_fixed for _, p in params)
    head = Text(f"{meta.title}", style="bold")
    head.append(
        f"\nid {meta.id}; from {meta.start:%B %Y}, {meta.horizon} months; {len(params)} parameters "
        f"({uncertain} uncertain); runs {sc.run.samples} samples × {sc.run.paths} paths by default, seed "
        f"{sc.run.seed}",
        style="default",
    )
    if meta.description:
        head.append("\n" + " ".join(meta.description.split()), style="default")
    parts: list[RenderableType] = [head]

    sides = narrow_table("\nSides and their leaders")
    id_column(sides, "side")
    text_column(sides, "country and leader")
    text_column(sides, "at the start (sources)")
    for s in SIDES:
        side, leader = sc.sides[s], sc.leaders[s]  # type: ignore[index]
        f, e = side.forces, side.economy
        sides.add_row(
            s,
            f"{side.name}: {leader.name} ({leader.regime})",
            f"manpower {_param(f.manpower)}; reserves {e.reserves.describe()} {e.unit} "
            f"({_sources(f.manpower, e.reserves)})",
        )
    parts.append(sides)

    aims = narrow_table("\nWar aims (what terms can grant)")
    id_column(aims, "aim")
    text_column(aims, "side: what (weight)")
    id_column(aims, "source")
    for s in SIDES:
        for a in sc.leaders[s].aims:  # type: ignore[index]
            met = "met" if a.effect == "achieved_by" else "lost"
            where = f"; {met} when A takes {a.objective}" if a.objective else ""
            aims.add_row(a.id, f"{s}: {a.name}{where} ({a.weight:g})", a.source)
    parts.append(aims)

    terms = narrow_table("\nTerms that can be on the table (--terms ID)")
    id_column(terms, "terms")
    text_column(terms, "what; the aims they grant")
    for t in sc.terms:
        extras = [*(["security guarantees"] if t.security_guarantees else []),
                  *([f"{t.sanctions_relief:.0%} of sanctions lifted"] if t.sanctions_relief else []),
                  *([f"on the table from month {t.available_from}"] if t.available_from else [])]  # fmt: skip
        what = Text(t.name + (f" ({'; '.join(extras)})" if extras else ""))
        what.append("\ngrants: " + (", ".join(t.grants) or "none"), style="dim")
        terms.add_row(t.id, what)
    parts.append(terms)

    if sc.levers:
        levers = narrow_table("\nLevers (--lever ID=INTENSITY)")
        id_column(levers, "lever")
        text_column(levers, "what it changes per unit of intensity; cost; credibility")
        for lv in sc.levers:
            sign = "×" if lv.effect == "multiply" else "+"
            what = Text(f"{lv.name} (intensity 0 to {lv.intensity_max:g})")
            what.append(
                f"\n{lv.target} {sign} {_param(lv.per_unit)}"
                f"\ncost {_param(lv.cost_per_unit)} {lv.cost_unit}; credibility {_param(lv.credibility)}"
                f"\nsources: {_sources(lv.per_unit, lv.cost_per_unit, lv.credibility)}",
                style="dim",
            )
            levers.add_row(lv.id, what)
        parts.append(levers)

    if sc.factors:
        factors = narrow_table("\nFactors of the leaders' calculus (ceasefire explain)")
        id_column(factors, "factor")
        text_column(factors, "what")
        id_column(factors, "sides")
        id_column(factors, "source")
        for fa in sc.factors:
            factors.add_row(fa.id, fa.name, " ".join(fa.applies_to()), fa.source)
        parts.append(factors)

    if sc.claims:
        claims = narrow_table("\nClaims (ceasefire claims)")
        id_column(claims, "claim")
        text_column(claims, "the source asserts; the query")
        id_column(claims, "source")
        for c in sc.claims:
            said = Text(c.asserts)
            said.append("\n" + c.query, style="dim")
            claims.add_row(c.id, said, c.source)
        parts.append(claims)

    sources = narrow_table("\nSources")
    id_column(sources, "source")
    text_column(sources, "author, title, date, where")
    for key, src in sc.sources.items():
        url = f", {src.url}" if src.url else ""
        sources.add_row(key, f"{src.author}, “{src.title}”, {src.date}, {src.where}{url}")
    parts.append(sources)
    return parts


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="the scenario's name; NAME.toml is written (NAME may be a path)")],
    force: Annotated[bool, typer.Option("--force", help="overwrite the file if it exists")] = False,
) -> None:
    """Write a short, commented scenario to start from: two sides, two terms, one lever, one claim.

    It validates and runs as written; every number is made up and marked with its source."""
    from ceasefire.scenario.load import load_scenario
    from ceasefire.scenario.template import scenario_file, template_text

    target = scenario_file(name)
    with failing(ValueError):
        text = template_text(name)
    try:
        with open(target, "w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise fail(f"{target} already exists; choose another name or add --force to overwrite it") from None
    except OSError as e:
        raise fail(f"could not write {target}: {e.strerror or e}") from None
    try:
        load_scenario(target)
    except CeasefireError as e:  # the template is tested to validate: this would be a bug, said plainly
        raise fail(f"the template written to {target} does not validate: {e}") from None
    err.print(f"wrote {target}", highlight=False)
    typer.echo(f"next: ceasefire show {target} · ceasefire run {target} · edit it, then ceasefire validate {target}")


__all__ = ["new", "scenario_overview", "show"]
