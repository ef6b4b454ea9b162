"""The HTML report: its statistics against hand-computed answers, and the page (offline, escaped, complete)."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ceasefire.analysis import curves
from ceasefire.analysis.report_compute import compute_report
from ceasefire.analysis.report_data import ANALYSIS_SECTIONS, PROGRESS_TOTAL, ReportOptions
from ceasefire.analysis.sensitivity import DEFAULT_OUTPUT
from ceasefire.cli import app
from ceasefire.report import figures
from ceasefire.report.html import (
    ANALYSIS_RENDERERS,
    SECTION_TITLES,
    claims_section,
    levers_section,
    render_report,
    sections_of,
    sensitivity_section,
    why_section,
)
from ceasefire.run.experiment import RunSpec, run
from ceasefire.run.summary import summarize
from ceasefire.scenario.load import LIBRARY, load_scenario

FLAGSHIP = "russia-ukraine-2026"
TINY = ReportOptions(samples=6, paths=10, horizon=18, course_samples=6, course_paths=10, sections=())
runner = CliRunner()


# -- statistics ---------------------------------------------------------------------------------


def test_settlement_curves_by_hand() -> None:
    # sample 0 settles in months 0 and 2 (one path never, one after the horizon); sample 1 three times in month 1
    first = np.array([0, 2, -1, 5, 1, 1, 1, -1])
    sample = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    c = curves.settlement_curves(first, sample, samples=2, horizon=4)
    assert c["months"] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(c["pooled"], [0, 1 / 8, 4 / 8, 5 / 8, 5 / 8])
    per_sample = np.array([[0, 0.25, 0.25, 0.5, 0.5], [0, 0, 0.75, 0.75, 0.75]])
    np.testing.assert_allclose(c["p50"], per_sample.mean(axis=0))  # the median of two is their mean
    np.testing.assert_allclose(c["p05"], np.quantile(per_sample, 0.05, axis=0))
    np.testing.assert_allclose(c["p95"], np.quantile(per_sample, 0.95, axis=0))
    assert (c["samples"], c["paths"]) == (2, 4)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda samples: st.tuples(
            st.just(samples),
            st.integers(1, 8),
            st.integers(1, 12),
            st.lists(st.integers(-1, 14), min_size=samples * 8, max_size=samples * 8),
        )
    )
)
def test_settlement_curves_invariants(case: tuple[int, int, int, list[int]]) -> None:
    samples, paths, horizon, months = case
    first = np.array(months[: samples * paths])
    sample = np.repeat(np.arange(samples), paths)
    c = curves.settlement_curves(first, sample, samples, horizon)
    pooled = np.array(c["pooled"])
    assert pooled[0] == 0.0 and np.all(np.diff(pooled) >= 0) and pooled[-1] <= 1.0
    # equal paths per sample: the pooled curve is the mean of the samples' curves
    assert pooled[-1] == pytest.approx(((first >= 0) & (first < horizon)).mean())
    for lo, hi in (("p05", "p25"), ("p25", "p50"), ("p50", "p75"), ("p75", "p95")):
        assert np.all(np.array(c[lo]) <= np.array(c[hi]) + 1e-12)


def test_settlement_curve_agrees_with_the_summary() -> None:
    sc = load_scenario(FLAGSHIP)
    result = run(sc, RunSpec.from_scenario(sc, samples=4, paths=12, horizon=30))
    s = summarize(result)
    c = curves.settlement_curves(result.outcomes.first_settlement, result.outcomes.sample, 4, 30)
    for m in (6, 12, 24):
        assert c["pooled"][m] == pytest.approx(s.settle_within[f"{m} months"].p)
        assert c["p05"][m] == pytest.approx(s.settle_within[f"{m} months"].sample_p05)
        assert c["p95"][m] == pytest.approx(s.settle_within[f"{m} months"].sample_p95)


def test_ceasefire_survival_constant_rates_and_kaplan_meier() -> None:
    rate = np.array([0.1, 0.1, 0.2])
    held = np.array([1, 3, 4])
    broke = np.array([True, True, True])
    s = curves.ceasefire_survival(rate, held, broke, months=6)
    np.testing.assert_allclose(s["model"], [(0.9**m + 0.9**m + 0.8**m) / 3 for m in range(7)])
    # no censoring: Kaplan-Meier is the share lasting longer than m months; undefined beyond the longest
    assert s["km"][:5] == pytest.approx([1.0, 2 / 3, 2 / 3, 1 / 3, 0.0])
    assert s["km"][5:] == [None, None]
    assert curves.ceasefire_survival(np.array([]), np.array([]), np.array([], bool), 3)["ceasefires"] == 0


def test_office_hazard_life_table() -> None:
    # 4 incumbents: removed in months 0, 2, 2; one stays
    h = curves.office_hazard(np.array([0, 2, 2, -1]), horizon=4)
    assert h["at_risk"] == [4, 3, 3, 1]
    np.testing.assert_allclose(h["hazard"], [1 / 4, 0, 2 / 3, 0])


def test_gap_bands_are_fighting_on_minus_his_best_deal_on_paths_at_war() -> None:
    months, paths = 2, 6
    at_war = np.ones((months + 1, paths))
    at_war[1, :] = 0  # nobody at war in month 1
    a = np.tile(np.arange(paths, dtype=float), (months, 1))  # his gain from signing x over fighting on
    b = -a
    g = curves.gap_bands({"x": a, "y": b}, at_war)
    # his best deal is x (gain a >= -a): the gap, fighting on minus x, is -a; above 0 he fights on
    assert g["p50"][0] == pytest.approx(-np.median(np.arange(paths)))
    assert g["p50"][1] is None  # fewer than 5 paths at war
    assert g["reference"] == curves.REFERENCE_BEST


def test_the_deal_within_reach_is_his_best_among_those_the_other_signs() -> None:
    # one month, three paths, terms (x, y, z): his gains and the other leader's gains
    mine = {"x": np.array([[3.0, 3.0, 3.0]]), "y": np.array([[1.0, 1.0, 1.0]]), "z": np.array([[-2.0, -2.0, np.nan]])}
    theirs = {
        "x": np.array([[-1.0, -1.0, -5.0]]),  # the other never signs x
        "y": np.array([[0.5, -1.0, -6.0]]),  # signs y on path 0 only
        "z": np.array([[2.0, 0.0, np.nan]]),  # signs z on paths 0 and 1; z is not on the table on path 2
    }
    gain = curves.reference_gain(mine, theirs)
    # path 0: y and z signed, y better for him; path 1: only z; path 2: none signed, x refused least
    np.testing.assert_allclose(gain, [[1.0, -2.0, 3.0]])
    np.testing.assert_allclose(curves.reference_gain(mine), [[3.0, 3.0, 3.0]])
    at_war = np.ones((2, 3))
    with pytest.raises(ValueError, match="same terms"):
        curves.gap_bands(mine, at_war, {"x": theirs["x"]})


def test_figures_are_pure_builders() -> None:
    c = curves.settlement_curves(np.array([0, 3, -1, 2]), np.array([0, 0, 1, 1]), 2, 5)
    fig = figures.settlement_fan(c, "2026-02-01", compare=c, compare_name="before")
    names = [t.name for t in fig.data]
    assert "all samples pooled" in names and "before" in names
    assert list(fig.data[-1].y) == c["pooled"]
    wf = figures.shapley_waterfall([("a", 1.0), ("b", -0.5)], start=2.0, total=2.5, title="gap")
    assert list(wf.data[0].measure) == ["absolute", "relative", "relative", "total"]


def test_waterfall_labels_have_room_inside_the_axes() -> None:
    parts = [("a long factor name that goes on and on", 8.0), ("b", -12.0), ("c", 3.0)]
    fig = figures.shapley_waterfall(parts, start=1.0, total=0.0, title="t")
    low, high = fig.layout.xaxis.range
    ends = [1.0, 9.0, -3.0, 0.0]  # the running totals the bars reach, and the total
    span = max(ends) - min(ends)
    assert low <= min(ends) - 0.2 * span and high >= max(ends) + 0.2 * span
    assert fig.data[0].cliponaxis is False and "<br>" in fig.data[0].y[1]  # long names wrapped


def test_bars_of_a_non_negative_index_never_reach_below_zero() -> None:
    rows = [{"p": "x", "v": 0.1, "lo": -0.3, "hi": 0.5}, {"p": "y", "v": 0.4, "lo": 0.2, "hi": 0.6}]
    fig = figures.ranking_bars(rows, "v", "p", "t", "mu*", low="lo", high="hi", floor=0.0)
    bars = fig.data[-1]
    lows = [v - m for v, m in zip(bars.x, bars.error_x.arrayminus, strict=True)]
    assert min(lows) == pytest.approx(0.0) and lows == pytest.approx([0.2, 0.0])  # largest first
    assert fig.layout.xaxis.rangemode == "nonnegative"
    unbounded = figures.ranking_bars(rows, "v", "p", "t", "change", low="lo", high="hi")
    assert min(v - m for v, m in zip(unbounded.data[-1].x, unbounded.data[-1].error_x.arrayminus, strict=True)) < 0


def test_the_lever_heat_map_shows_exactly_the_intensities_simulated() -> None:
    fig = figures.heatmap([0.0, 0.5, 1.0], [0.0, 2.0], [[1.234, 2.0, 3.0], [4.0, 5.0, 6.0]], "t", "a", "b", "%")
    assert list(fig.data[0].x) == ["0", "0.5", "1"] and list(fig.data[0].y) == ["0", "2"]
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.type == "category"
    assert fig.data[0].text[0][0] == "1"  # whole units, not two decimals of noise


def test_parameter_labels_come_from_the_scenario() -> None:
    from ceasefire.scenario.labels import parameter_description, parameter_label

    sc = load_scenario(FLAGSHIP)
    assert parameter_label(sc, "leaders.A.resolve_doubt") == f"{sc.leaders['A'].name}: resolve doubt"
    assert parameter_label(sc, "leaders.B.reasons.legitimacy") == f"{sc.leaders['B'].name}: legitimacy (reason 1)"
    lever = sc.levers[0]
    assert parameter_label(sc, f"levers.{lever.id}.credibility") == f"{lever.name}: credibility"
    assert parameter_label(sc, "sides.A.economy.sanctions").startswith(f"{sc.sides['A'].name}, economy: ")
    assert parameter_description(sc, "sides.A.forces.recruitment") == "persons per month"
    assert parameter_label(sc, "no.such.path") == "no: such path" and parameter_description(sc, "no.such") is None


# -- the page -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(compute_report(FLAGSHIP, TINY))


def test_the_page_loads_nothing_from_the_network(page: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, flags=re.I)
    external = [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", t, flags=re.I)]
    assert external == []
    assert "cdn.plot.ly" not in re.sub(r"<script type=\"text/javascript\">/\*\*.*?</script>", "", page, flags=re.S)


def test_plotly_is_embedded_once(page: str) -> None:
    assert page.count("* plotly.js v") == 1
    assert page.count('<script type="text/javascript">/**') == 1
    assert page.index("* plotly.js v") < page.index('class="plotly-graph-div"')


def test_every_core_section_is_there(page: str) -> None:
    for section in ("headline", "course", "parameters", "run"):  # made from the model run alone
        assert f'<section id="{section}">' in page
    for name in ("fig-settlement", "fig-terms", "fig-survival", "fig-territory", "fig-casualties", "fig-hazard"):
        assert f'id="{name}"' in page
    sc = load_scenario(FLAGSHIP)
    for lv in sc.levers:  # the parameters table lists every lever's parameters
        assert f"levers.{lv.id}.per_unit" in page
    assert "seed" in page and "20260201" in page


def test_the_headline_shows_the_summary_numbers() -> None:
    data = compute_report(FLAGSHIP, TINY)
    p24 = data.summary["settle_within"]["24 months"]["p"] if "24 months" in data.summary["settle_within"] else None
    p12 = data.summary["settle_within"]["12 months"]["p"]
    html = render_report(data, plotly_js="/* stub */")
    assert f"{100 * p12:.1f}%" in html
    if p24 is not None:
        assert f"{100 * p24:.1f}%" in html
    assert data.curves["pooled"][12] == pytest.approx(p12)


def test_analysis_sections_are_left_out_cleanly_when_not_asked_for() -> None:
    data = compute_report(FLAGSHIP, TINY)
    ids = [s.id for s in sections_of(data)]
    assert ids == ["headline", "course", "parameters", "run"]
    assert set(data.unavailable) == set(ANALYSIS_SECTIONS)


def test_scenario_text_is_escaped(tmp_path: Path) -> None:
    text = (LIBRARY / f"{FLAGSHIP}.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^title = ".*"$', 'title = "<script>alert(1)</script> & co"', text, count=1)
    path = tmp_path / "evil.toml"
    path.write_text(text, encoding="utf-8")
    html = render_report(compute_report(str(path), TINY), plotly_js="/* stub */")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_unknown_sections_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown report section"):
        ReportOptions(sections=("headline", "astrology"))


# -- the command --------------------------------------------------------------------------------


def test_report_command_writes_one_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "r.html"
    result = runner.invoke(
        app,
        ["report", FLAGSHIP, "-o", str(out), "--samples", "5", "--paths", "8", "--horizon", "12", "--quick", "-q",
         "--mkdir"],  # the folder "sub" is made on request only
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("* plotly.js v") == 1
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-scenario"], "no shipped scenario"),
        ([FLAGSHIP, "--sections", "why,astrology"], "unknown section"),
        ([FLAGSHIP, "--samples", "0"], "samples"),
    ],
)
def test_report_command_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", *args, "-o", str(tmp_path / "r.html"), "-q"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_import_ceasefire_does_not_import_plotly() -> None:
    code = (
        "import sys, ceasefire, ceasefire.cli; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('plotly', 'dash', 'flask', 'playwright')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the analysis sections, from the analyses' own result types ---------------------------------


def analysis_examples() -> dict[str, dict[str, Any]]:
    """Each analysis section's input: the analyses' real result classes, made-up numbers, ``to_dict()``.

    Building the real dataclasses (not hand-written dicts) ties the report to their shapes; the
    numbers are invented so the test needs no model run.
    """
    from ceasefire.analysis.claims import ClaimResult, ClaimsReport
    from ceasefire.analysis.consistency import ConsistencyResult
    from ceasefire.analysis.explain import Explanation, FactorPart
    from ceasefire.analysis.levers import EffectRow, Estimate, LeverEffects, LeverGrid
    from ceasefire.analysis.price import PriceOfPeace
    from ceasefire.analysis.sensitivity import SensitivityResult

    sc = load_scenario(FLAGSHIP)
    why = {}
    for side, parts in (("A", (3.0, -1.0, 0.5)), ("B", (-2.0, 1.5, 0.25))):
        factors = tuple(
            FactorPart(
                id=f"f{k}",
                name=f"factor {side}{k} <b>",
                source="aron-2025",
                shapley=v,
                se=0.1,
                share=v / sum(parts),
                moves_war=k == 0,
            )
            for k, v in enumerate(parts)
        )
        why[side] = Explanation(
            scenario=FLAGSHIP,
            side=side,
            leader=sc.leaders[side].name,
            month=0,
            fight_value=40.0,
            terms={t.id: 30.0 + k for k, t in enumerate(sc.terms)},
            compared_terms="the best terms the other leader would sign",
            compared_share={sc.terms[1].id: 0.5, sc.terms[2].id: 0.5},
            best_terms=sc.terms[0].id,
            best_share=0.75,
            best_value=33.0,
            gap=1.0 + sum(parts),
            gap_se=0.4,
            neutral_gap=1.0,
            factors=factors,
            seconds=1.0,
            sizes={"samples": 4, "paths": 8},
        ).to_dict()
        why[side]["compared_value"] = why[side]["fight_value"] - why[side]["gap"]
    rows = tuple(
        EffectRow(
            lever=lv.id,
            name=lv.name,
            intensity=x,
            credibility=0.7,
            cost=2.0 * x,
            cost_p05=1.0 * x,
            cost_p95=3.0 * x,
            cost_unit=lv.cost_unit,
            d_p12=0.01 * k * x,
            d_p12_se=0.01,
            d_p24=0.02 * k * x - 0.05,
            d_p24_se=0.01,
            d_casualties_A=-1000.0 * k,
            d_casualties_A_se=500.0,
            d_casualties_B=-400.0,
            d_casualties_B_se=100.0,
            d_holds=0.001,
            d_holds_se=0.001,
        )
        for k, lv in enumerate(sc.levers)
        for x in (0.5, 1.0)
    )
    est = Estimate(0.3, 0.02)
    effects = LeverEffects(
        scenario=FLAGSHIP,
        samples=4,
        paths=8,
        seed=1,
        horizon=24,
        policy="optimal",
        intensities=(0.5, 1.0),
        baseline={
            "p12": est,
            "p24": Estimate(0.5, 0.03),
            "casualties_A": Estimate(1e6, 1e4),
            "casualties_B": Estimate(4e5, 1e4),
            "holds": Estimate(0.8, 0.01),
        },
        rows=rows,
        skipped=(),
        seconds=1.0,
        batches=2,
        half_width=0.03,
    )
    grid3 = ((0.1, 0.2, 0.3), (0.2, 0.3, 0.4), (0.3, 0.4, 0.5))
    grid = LeverGrid(
        scenario=FLAGSHIP,
        samples=4,
        paths=8,
        seed=1,
        horizon=24,
        policy="optimal",
        certain=False,
        a=sc.levers[0].id,
        b=sc.levers[1].id,
        intensities_a=(0.0, 0.5, 1.0),
        intensities_b=(0.0, 0.5, 1.0),
        p12=grid3,
        p12_se=grid3,
        d_p12=grid3,
        d_p12_se=grid3,
        p24=grid3,
        p24_se=grid3,
        d_p24=grid3,
        d_p24_se=grid3,
        cost=grid3,
        cost_unit="bn USD/year",
        seconds=1.0,
    )
    price = PriceOfPeace(
        scenario=FLAGSHIP,
        target=0.5,
        within=12,
        levers=(sc.levers[0].id,),
        dropped=(),
        cost_unit="bn USD/year",
        reached=True,
        verdict="reached",
        package={sc.levers[0].id: 0.75},
        cost=9.5,
        cost_p05=4.0,
        cost_p95=15.0,
        probability=Estimate(0.52, 0.03),
        baseline=est,
        at_max=None,
        search_probability=0.55,
        search_baseline=0.3,
        samples=4,
        paths=8,
        seed=2,
        search_samples=2,
        search_paths=4,
        search_seed=1,
        horizon=24,
        policy="optimal",
        steps=20,
        evaluations=30,
        generations=5,
        optimizer="differential evolution",
        seconds=1.0,
        search_message="Optimization terminated successfully.",
        reference_samples=200,
        reference_paths=200,
    )
    sensitivity = SensitivityResult(
        scenario=FLAGSHIP,
        output="p_settle_12",
        method="morris",
        n=4,
        evaluations=20,
        paths=8,
        seed=1,
        parameters=3,
        rows=[
            {"parameter": p, "source": "assumption", "mu_star": m, "mu_star_conf": 0.1, "sigma": 0.2, "mu": m}
            for p, m in (("leaders.A.optimism", 0.4), ("leaders.B.optimism", 0.2), ("attrition.exchange_ratio", 0.05))
        ],
        output_mean=0.3,
        output_sd=0.2,
        month0_share=0.0,
        seconds=1.0,
    )
    claims = ClaimsReport(
        scenario=FLAGSHIP,
        claims=(
            ClaimResult(
                id="c1",
                source="ryan-2026",
                asserts="a deal <soon>",
                query="P(settle within 12) < 0.2",
                quantity="P(settlement within 12 months)",
                estimate=0.15,
                low=0.1,
                high=0.19,
                verdict="supported",
                rule="whole interval below 0.2",
                display="0.15 [0.10, 0.19]",
            ),
            ClaimResult(
                id="c2",
                source="assumption",
                asserts="x",
                query="q",
                quantity="q",
                estimate=None,
                low=None,
                high=None,
                verdict="undecided",
                rule="r",
                display="n/a",
            ),
        ),
        inconsistencies=(
            ConsistencyResult(
                id="k",
                name="casualty rate",
                check="rate",
                implied=1650.0,
                unit="per day",
                stated_low=850.0,
                stated_high=1000.0,
                tolerance=0.1,
                consistent=False,
                ratio=1.65,
                explanation="700,000 to 1.2 million in ten months",
                figures=(),
                against=(),
            ),
        ),
        seconds=1.0,
        sizes={"samples": 4, "paths": 8, "seed": 1},
    )
    reference = {"samples": 200, "paths": 200, "p12": {"value": 0.3, "se": 0.02}, "p24": {"value": 0.5, "se": 0.03}}
    return {
        "why": why,
        "levers": {
            "effects": effects.to_dict(),
            "reference": reference,
            "widest": effects.widest(),
            "grid": grid.to_dict(),
            "price": price.to_dict(),
        },
        "sensitivity": sensitivity.to_dict() | {"output_label": "P(settlement within 12 months)"},
        "claims": claims.to_dict() | {"reference": reference},
    }


def test_analysis_sections_render_from_the_analyses_results() -> None:
    sc = load_scenario(FLAGSHIP)
    examples = analysis_examples()
    for name in ANALYSIS_SECTIONS:
        section = ANALYSIS_RENDERERS[name](examples[name], sc)
        assert section.id == name and section.title == SECTION_TITLES[name]
        assert "<b>" not in section.body  # made-up names with markup are escaped
    why = why_section(examples["why"], sc).body
    assert 'id="fig-why-A"' in why and 'id="fig-why-B"' in why and "factor A0 &lt;b&gt;" in why
    levers = levers_section(examples["levers"], sc).body
    for fig in ("fig-lever-effects", "fig-lever-grid"):
        assert f'id="{fig}"' in levers
    assert "The price of peace" in levers and "9.5 bn USD/year" in levers
    claims = claims_section(examples["claims"], sc).body
    assert '<span class="supported" data-claim="c1">supported</span>' in claims and "a deal &lt;soon&gt;" in claims
    assert "1 of 1" not in claims and "0 of 1 checks consistent" in claims
    sens = sensitivity_section(examples["sensitivity"], sc).body
    # readable labels from the scenario, the dotted path kept beneath; the output in words
    assert sens.index("Vladimir Putin: optimism") < sens.index("attrition: exchange ratio")
    assert '<code class="small">leaders.A.optimism</code>' in sens
    assert "P(settlement within 12 months)" in sens and "p_settle_12" not in sens


def _text(html_fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_fragment)).replace("&#x27;", "'")


def test_the_why_text_derives_the_gap_from_the_values_it_shows() -> None:
    sc = load_scenario(FLAGSHIP)
    e = analysis_examples()["why"]["A"]
    text = _text(why_section({"A": e}, sc).body)
    found = re.search(r"Fighting on ([\d.]+) − the deal within reach ([\d.]+) = gap ([+-][\d.]+)", text)
    assert found, text
    fight, deal, gap = (float(x) for x in found.groups())
    assert fight - deal == pytest.approx(gap, abs=0.011)  # two decimals each
    assert gap == pytest.approx(e["gap"], abs=0.005) and fight == pytest.approx(e["fight_value"], abs=0.005)
    assert "fighting on minus the deal within reach" in text and "above 0 he fights on" in text


def test_the_levers_section_states_levels_as_the_headline_plus_the_change() -> None:
    sc = load_scenario(FLAGSHIP)
    data = analysis_examples()["levers"]
    body = levers_section(data, sc).body
    # the headline's, quoted in the effects' introduction and by the price of peace
    assert re.findall(r'data-quantity="p12">([^<]+)<', body) == ["30.0%", "30.0%"]
    text = _text(body)
    row = data["effects"]["rows"][-1]  # the last lever at intensity 1: d_p12 = 0.01 * k
    shown = f"{100 * row['d_p12']:+.1f} [{100 * (row['d_p12'] - 1.96 * 0.01):+.1f}"
    assert shown in text
    assert f"{30.0 + round(100 * row['d_p12'], 1):.1f}%" in text
    assert "within ±3 points; the widest is ±2.0" in text  # se 0.01 for every change: 1.96 points


def test_the_price_of_peace_says_in_words_when_no_package_reaches_the_target() -> None:
    sc = load_scenario(FLAGSHIP)
    data = analysis_examples()["levers"]
    price = data["price"] | {
        "reached": False,
        "at_max": {"value": 0.41, "se": 0.02},
        "search_message": "Maximum number of iterations has been exceeded. MAXCV = 0.2051",
    }
    body = levers_section(data | {"price": price}, sc).body
    text = _text(body)
    assert "No package of these levers reaches P(settlement within 12 months) of at least 50%" in text
    assert "every lever at its largest intensity the probability is 41.0%" in text
    assert "MAXCV" not in body and "Maximum number" not in body
    assert "the most probable package found" in text and "Searched by" in text
    unsearched = _text(levers_section(data | {"price": price | {"searched": False}}, sc).body)
    assert "so no cheaper package was searched for" in unsearched and "Searched by" not in unsearched
    assert re.search(r"\(\+20\.0 points from the headline's\s+30\.0%\s*\)", text)  # the 50% target from 30%


def test_shapley_waterfall_ends_at_the_gap() -> None:
    e = analysis_examples()["why"]["A"]
    parts = [(f["name"], f["shapley"]) for f in e["factors"]]
    fig = figures.shapley_waterfall(parts, start=e["neutral_gap"], total=e["gap"], title="t")
    w = fig.data[0]
    assert list(w.measure) == ["absolute", "relative", "relative", "relative", "total"]
    # efficiency: the neutral gap plus the parts is the gap shown in the last bar
    assert w.x[0] + sum(w.x[1:-1]) == pytest.approx(w.x[-1])


def test_all_sections_in_reading_order() -> None:
    data = replace(compute_report(FLAGSHIP, TINY), analyses=analysis_examples(), unavailable={})
    assert [s.id for s in sections_of(data)] == [
        "headline",
        "course",
        "why",
        "levers",
        "claims",
        "sensitivity",
        "parameters",
        "run",
    ]


TINY_ANALYSES = replace(
    TINY,
    # 36 months: under Model 2 the flagship hardly settles in 18, and a screen of an output that is 0 at
    # every point has nothing to attribute (at 4 paths a point, 36 months give P(settlement) of about 0.06)
    horizon=36,
    sections=ANALYSIS_SECTIONS,
    why_samples=2,
    why_paths=4,
    analysis_samples=2,
    analysis_paths=4,
    lever_batch_samples=6,
    lever_paths=8,
    lever_max_samples=12,
    morris_trajectories=2,
    price_maxiter=2,
)


@pytest.mark.slow
def test_the_real_analyses_run_and_render() -> None:
    """Every analysis section through the real analyses, at the smallest sizes (marked slow)."""
    seen: list[tuple[str, int, int]] = []
    data = compute_report(FLAGSHIP, TINY_ANALYSES, lambda stage, done, total: seen.append((stage, done, total)))
    assert data.unavailable == {}
    assert set(data.analyses) == set(ANALYSIS_SECTIONS)
    html = render_report(data, plotly_js="/* stub */")
    for section in ANALYSIS_SECTIONS:
        assert f'<section id="{section}">' in html
    for side in ("A", "B"):
        e = data.analyses["why"][side]
        assert e["gap"] == pytest.approx(e["neutral_gap"] + sum(f["shapley"] for f in e["factors"]), abs=1e-6)
        assert e["compared_value"] == pytest.approx(e["fight_value"] - e["gap"])
    # one progress bar for the whole report: it only goes forward and ends full
    counts = [done for _, done, _ in seen]
    assert all(a <= b for a, b in itertools.pairwise(counts)) and counts[-1] == PROGRESS_TOTAL
    assert {total for _, _, total in seen} == {PROGRESS_TOTAL}
    stages = {stage for stage, _, _ in seen}
    assert {"headline run", "why: Vladimir Putin's coalitions", "sensitivity: Morris screen"} <= stages
    # the screen explains an output that varies under Model 2 (p_settle_12 is 0 at every point of it)
    sens = data.analyses["sensitivity"]
    assert sens["output"] == DEFAULT_OUTPUT == "p_settle_horizon"
    assert sens["output_label"] == "P(settlement within the horizon)" and sens["output_sd"] > 0
    assert any((r["mu_star"] or 0.0) > 0 for r in sens["rows"])
    assert any(s.startswith("claims: ") for s in stages) and any(s.startswith("levers: batch 1") for s in stages)
    # the levers and the price of peace start from the headline's probability without levers
    p12 = data.summary["settle_within"]["12 months"]["p"]
    levers = data.analyses["levers"]
    assert levers["reference"]["p12"]["value"] == pytest.approx(p12)
    if "price" in levers:
        assert levers["price"]["baseline"]["value"] == pytest.approx(p12)


def test_the_report_the_cli_and_the_library_explain_the_same_default_output() -> None:
    """One default output for a sensitivity analysis wherever it is asked for without one, a metric any
    horizon defines."""
    import inspect

    from ceasefire.analysis.sensitivity import sensitivity
    from ceasefire.cli.sweep import sensitivity as cli_sensitivity
    from ceasefire.run.sweep import METRICS

    assert inspect.signature(sensitivity).parameters["output"].default == DEFAULT_OUTPUT
    assert inspect.signature(cli_sensitivity).parameters["output"].default == DEFAULT_OUTPUT
    assert METRICS[DEFAULT_OUTPUT].min_horizon == 1


def test_an_analysis_that_cannot_run_is_left_out_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from ceasefire.analysis import report_compute
    from ceasefire.errors import CeasefireError

    def no_factors(*_: Any) -> dict[str, Any]:
        raise CeasefireError("scenario declares no [[factors]]")

    def not_installed(*_: Any) -> dict[str, Any]:
        raise ImportError("No module named 'ceasefire.analysis.claims'")

    monkeypatch.setitem(report_compute.ANALYSES, "why", no_factors)
    monkeypatch.setitem(report_compute.ANALYSES, "claims", not_installed)
    data = compute_report(FLAGSHIP, replace(TINY, sections=("why", "claims")))
    assert data.unavailable["why"] == "CeasefireError: scenario declares no [[factors]]"
    assert "not available" in data.unavailable["claims"]
    assert data.unavailable["levers"] == "left out on request"
    page = render_report(data, plotly_js="/* stub */")
    assert '<section id="why">' not in page and '<section id="claims">' not in page
    assert "section left out: why" in page and "no [[factors]]" in page


def test_the_report_package_imports_no_code_that_runs_the_model() -> None:
    """``ceasefire.report`` renders what it is given: it imports data types only, never the engine,
    the runs or the analyses' computing (checked in the source, as every import of ``ceasefire``
    loads the package's API)."""
    import ast

    import ceasefire.report

    allowed = {
        "ceasefire.analysis.curves",  # statistics on arrays
        "ceasefire.analysis.report_data",
        "ceasefire.report",
        "ceasefire.scenario.labels",
        "ceasefire.scenario.params",
        "ceasefire.scenario.schema",
        "ceasefire.run.summary",  # table.py: the Summary data type of `ceasefire run`
    }
    for path in Path(ceasefire.report.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("ceasefire"):
                    assert any(name == a or name.startswith(a + ".") for a in allowed), f"{path.name} imports {name}"


def test_the_report_options_refuse_bad_sizes() -> None:
    with pytest.raises(ValueError, match="lever_paths must be a positive whole number"):
        ReportOptions(lever_paths=0)
    with pytest.raises(ValueError, match="lever_half_width"):
        ReportOptions(lever_half_width=0.0)
