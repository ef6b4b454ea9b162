"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

Moving the "larger military aid" lever to its maximum must lower the settlement probability shown.
Why that direction is certain here: the preview re-runs the *same* parameter samples and paths
(common random numbers), and at the preview size (16 samples x 40 paths) the lever lowers the
24-month probability by 0.18 to 0.31 for each of the seeds 20260201 (the scenario's) and 1-5
(measured), far beyond the Monte Carlo noise of a difference on common paths. The number shown must
also be exactly the one the library computes for that lever.

Any request to a host other than 127.0.0.1/localhost is aborted and fails the test. Without
/usr/bin/chromium the test fails (CI installs it); it never downloads a browser.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from ceasefire.web.app import Dashboard
from ceasefire.web.limits import RunLimits

pytestmark = pytest.mark.browser

FLAGSHIP = "russia-ukraine-2026"
LEVER = "more-military-aid"
LOCAL = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def dashboard() -> Iterator[tuple[Dashboard, str]]:
    """The dashboard served on a free loopback port from a thread; shut down afterwards."""
    limits = RunLimits(preview_samples=16, preview_paths=40, full_max_samples=6, full_max_paths=20)
    dash = Dashboard(FLAGSHIP, limits=limits)
    server = make_server("127.0.0.1", 0, dash.app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    try:
        yield dash, f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_a_lever_moves_the_settlement_probability(dashboard: tuple[Dashboard, str], browser: object) -> None:
    dash, url = dashboard
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    foreign: list[str] = []
    errors: list[str] = []

    def guard(route: object) -> None:
        request_url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(request_url).hostname in LOCAL:
            route.continue_()  # type: ignore[attr-defined]
        else:
            foreign.append(request_url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        shown = page.locator("#p-settle-24")
        shown.wait_for(timeout=60_000)
        before = float(shown.get_attribute("data-p"))
        assert page.locator("#median-month").count() == 1
        assert page.locator(".js-plotly-plot").count() >= 3

        thumb = page.locator(f'[id*="{LEVER}"] [role="slider"]')
        thumb.focus()
        thumb.press("End")  # the slider's maximum, by keyboard, as a user can
        assert thumb.get_attribute("aria-valuenow") == "2"
        page.wait_for_function(
            "b => Number(document.querySelector('#p-settle-24').dataset.p) !== b", arg=before, timeout=60_000
        )
        after = float(shown.get_attribute("data-p"))
        assert after < before, (before, after)
        note = page.inner_text("#preview-note")
        assert f"{LEVER}=2" in note

        expected = dash.service.preview(FLAGSHIP, {LEVER: 2.0}, {}).summary["settle_within"]["24 months"]["p"]
        assert after == expected  # the exact number (repr) the library computed
        baseline = dash.service.preview(FLAGSHIP, {}, {}).summary["settle_within"]["24 months"]["p"]
        assert before == baseline
        assert f"{100 * after:.1f}%" == shown.inner_text()
    finally:
        context.close()
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert errors == [], errors


def test_values_costs_full_run_beside_its_button_and_reset(dashboard: tuple[Dashboard, str], browser: object) -> None:
    _, url = dashboard
    context = browser.new_context(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        shown = page.locator("#p-settle-24")
        shown.wait_for(timeout=60_000)
        before = shown.get_attribute("data-p")
        assert "16 samples × 40 paths" in page.inner_text("#p-settle-24-se")

        thumb = page.locator(f'[id*="{LEVER}"] [role="slider"]')
        thumb.focus()
        thumb.press("End")
        value = page.locator(f'[id*="lever-value"][id*="{LEVER}"]')
        page.wait_for_function(
            "() => [...document.querySelectorAll('[id*=lever-value]')].some(e => e.innerText.startsWith('2 of 2'))",
            timeout=30_000,
        )
        assert value.inner_text() == "2 of 2 · expected cost 42.0 bn USD/year"
        page.wait_for_function("b => document.querySelector('#p-settle-24').dataset.p !== b", arg=before)

        page.click("#full-run")
        page.wait_for_function(
            "() => document.querySelector('#full-status').innerText.startsWith('finished')", timeout=120_000
        )
        assert page.get_attribute("#full-progress", "value") == page.get_attribute("#full-progress", "max")
        page.wait_for_function(
            "() => document.querySelector('#p-settle-24-vs-full').innerText.startsWith('full-size run (6 × 20)')",
            timeout=30_000,
        )
        button = page.locator("#full-run").bounding_box()
        results = page.locator("#full-headline").bounding_box()
        assert button is not None and results is not None
        assert 0 < results["y"] - button["y"] < 200  # the full run's numbers just under its button
        assert page.locator("#full-headline > div").count() == 3

        page.click("#reset")
        page.wait_for_function("b => document.querySelector('#p-settle-24').dataset.p === b", arg=before)
        assert thumb.get_attribute("aria-valuenow") == "0"
        assert value.inner_text().startswith("off (0 of 2)")
    finally:
        context.close()
    assert errors == [], errors
