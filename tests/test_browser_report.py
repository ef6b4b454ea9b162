"""The written report in a real browser with the network cut off.

Debian's Chromium, headless, through Playwright; every request that is not ``file://`` is aborted
and recorded (and fails the test). Without /usr/bin/chromium the tests fail (CI installs it).

The report is made for real, every section, from a copy of the flagship whose ``[run]`` sizes and
horizon are small (at least 12 months, for the price of peace), so that its default sizes, those of
``ceasefire claims`` too, run in seconds, and with the analyses at their smallest sizes. The tests
check what a reader would: every figure drawn, no text leaving its figure at 800 and 1,366 px
wide, every section quoting the headline's probability without levers, and the claims' verdicts
equal to those of ``ceasefire claims``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ceasefire.analysis.report_compute import compute_report
from ceasefire.analysis.report_data import ANALYSIS_SECTIONS, ReportData, ReportOptions
from ceasefire.cli import app
from ceasefire.report.html import render_report, write_pdf
from ceasefire.scenario.load import LIBRARY
from conftest import CHROMIUM

pytestmark = pytest.mark.browser

FLAGSHIP = "russia-ukraine-2026"
OPTIONS = ReportOptions(
    course_samples=6,
    course_paths=12,
    why_samples=2,
    why_paths=4,
    analysis_samples=2,
    analysis_paths=4,
    morris_trajectories=2,
    price_maxiter=2,
    # the flagship settles on almost no path in 15 months under Model 2: P(settlement) would not vary at
    # these sizes, and the pages' layout is what is checked here
    sensitivity_output="casualties_A",
)
WIDTHS = (800, 1366)

RENDERED = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
    id: gd.id,
    traces: gd.data.length,
    drawn: gd.querySelectorAll('g.trace, g.hm').length,
    svg: gd.querySelectorAll('svg.main-svg').length,
    message: gd.querySelectorAll('.annotation').length,
}))"""

ESCAPING = """() => {
    const out = [];
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const box = gd.getBoundingClientRect();
        for (const t of gd.querySelectorAll('svg text')) {
            const r = t.getBoundingClientRect();
            const style = getComputedStyle(t);
            if (!t.textContent.trim() || r.width === 0 || style.display === 'none' || style.visibility === 'hidden'
                || style.opacity === '0') continue;
            if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
                out.push({figure: gd.id, text: t.textContent.slice(0, 60),
                          text_box: [r.left, r.top, r.right, r.bottom].map(Math.round),
                          figure_box: [box.left, box.top, box.right, box.bottom].map(Math.round)});
            }
        }
    }
    return out;
}"""

DRAWN = (
    "() => document.querySelectorAll('.js-plotly-plot svg.main-svg').length > 0 && "
    "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('svg.main-svg'))"
)


@pytest.fixture(scope="module")
def small_flagship(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flagship with ``[run]`` 6 samples x 12 paths and a 15-month horizon."""
    text = (LIBRARY / f"{FLAGSHIP}.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^horizon = 60$", "horizon = 15", text, count=1)
    text = re.sub(r"(?m)^samples = 200$", "samples = 6", text, count=1)
    text = re.sub(r"(?m)^paths = 200$", "paths = 12", text, count=1)
    path = tmp_path_factory.mktemp("scenario") / "small-flagship.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def made(small_flagship: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReportData]:
    data = compute_report(str(small_flagship), OPTIONS)
    assert data.unavailable == {}
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(data), encoding="utf-8")
    return path, data


def _open(browser: Any, report: Path, width: int) -> tuple[Any, Any, list[str], list[str]]:
    """A page of ``report`` at ``width`` px, the network blocked; every figure drawn."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    blocked: list[str] = []
    errors: list[str] = []

    def offline(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_function(DRAWN, timeout=60_000)
    return context, page, blocked, errors


def test_every_figure_renders_offline(made: tuple[Path, ReportData], browser: Any) -> None:
    report, _ = made
    context, page, blocked, errors = _open(browser, report, 1280)
    try:
        expected = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
        assert expected >= 10
        figures = page.evaluate(RENDERED)
        assert len(figures) == expected
        for fig in figures:
            assert fig["svg"] >= 1, fig
            if fig["traces"]:
                assert fig["drawn"] >= fig["traces"], fig  # every trace of the figure was drawn
            else:
                assert fig["message"] >= 1, fig  # an empty figure says why
        assert any(f["id"] == "fig-settlement" and f["drawn"] >= 6 for f in figures)
        sections = page.evaluate("() => [...document.querySelectorAll('main > section')].map(s => s.id)")
        assert sections == ["headline", "course", *ANALYSIS_SECTIONS, "parameters", "run"]
    finally:
        context.close()
    assert blocked == [], f"the report tried to load: {blocked}"
    assert errors == [], errors


@pytest.mark.parametrize("width", WIDTHS)
def test_no_text_leaves_its_figure(made: tuple[Path, ReportData], browser: Any, width: int) -> None:
    report, _ = made
    context, page, _, _ = _open(browser, report, width)
    try:
        page.wait_for_timeout(300)  # Plotly's automargin redraws once after the first paint
        escaping = page.evaluate(ESCAPING)
        texts = page.evaluate("() => document.querySelectorAll('.js-plotly-plot svg text').length")
    finally:
        context.close()
    assert texts > 100  # the check looked at the figures' labels
    assert escaping == [], json.dumps(escaping, indent=1)


def test_every_section_quotes_the_headline_probability_without_levers(
    made: tuple[Path, ReportData], browser: Any
) -> None:
    report, data = made
    context, page, _, _ = _open(browser, report, 1280)
    try:
        quoted = page.evaluate(
            """() => [...document.querySelectorAll('[data-quantity="p12"]')].map(e => ({
                section: e.closest('section').id, price: !!e.closest('p') &&
                    (e.closest('p').previousElementSibling || {}).textContent === 'The price of peace',
                text: e.textContent.trim()}))"""
        )
    finally:
        context.close()
    headline = [q["text"] for q in quoted if q["section"] == "headline"]
    assert headline == [f"{100 * data.summary['settle_within']['12 months']['p']:.1f}%"]
    by_section = {q["section"] for q in quoted}
    assert {"headline", "levers", "claims"} <= by_section
    if "price" in data.analyses["levers"]:
        assert any(q["price"] for q in quoted), quoted  # the price of peace quotes it too
    assert {q["text"] for q in quoted} == set(headline), quoted


def test_the_claims_verdicts_are_those_of_ceasefire_claims(
    made: tuple[Path, ReportData], small_flagship: Path, browser: Any
) -> None:
    report, _ = made
    result = CliRunner().invoke(app, ["claims", str(small_flagship), "--json", "-", "-q"])
    assert result.exit_code == 0, result.output
    expected = {c["id"]: c["verdict"] for c in json.loads(result.stdout)["claims"]}
    context, page, _, _ = _open(browser, report, 1280)
    try:
        shown = page.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('#claims [data-claim]')]"
            ".map(e => [e.dataset.claim, e.textContent.trim()]))"
        )
    finally:
        context.close()
    assert len(expected) >= 10 and shown == expected


def test_pdf_is_printed_without_the_network(made: tuple[Path, ReportData], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    report, _ = made
    pdf = tmp_path / "report.pdf"
    write_pdf(report, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 3  # several pages
