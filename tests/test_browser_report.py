"""The written report in a real browser with the network cut off: every figure must render.

Debian's Chromium, headless, through Playwright; every request that is not ``file://`` is aborted
and recorded (and fails the test). Without /usr/bin/chromium the test fails (CI installs it).
The report has every section: the model's from a small run, the analyses' from their real result
classes with made-up numbers (``test_report.analysis_examples``; running them takes minutes).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ceasefire.report.html import (
    ANALYSIS_SECTIONS,
    ReportOptions,
    compute_report,
    render_report,
    write_pdf,
    write_report,
)
from conftest import CHROMIUM
from test_report import analysis_examples

pytestmark = pytest.mark.browser

FLAGSHIP = "russia-ukraine-2026"
OPTIONS = ReportOptions(samples=8, paths=16, horizon=24, course_samples=6, course_paths=12, sections=())

RENDERED = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
    id: gd.id,
    traces: gd.data.length,
    drawn: gd.querySelectorAll('g.trace, g.hm').length,
    svg: gd.querySelectorAll('svg.main-svg').length,
    message: gd.querySelectorAll('.annotation').length,
}))"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    data = replace(compute_report(FLAGSHIP, OPTIONS), analyses=analysis_examples(), unavailable={})
    write_report(path, render_report(data))
    return path


def test_every_figure_renders_offline(report: Path, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    blocked: list[str] = []

    def offline(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith("file://"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", offline)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(report.as_uri(), wait_until="load", timeout=60_000)
        expected = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
        assert expected >= 6
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length > 0 && "
            "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('svg.main-svg'))",
            arg=expected,
            timeout=60_000,
        )
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


def test_pdf_is_printed_without_the_network(report: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    pdf = tmp_path / "report.pdf"
    write_pdf(report, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 3  # several pages
