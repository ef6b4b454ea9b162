"""Take the screenshots in docs/img/ with Debian's Chromium (headless, no network but 127.0.0.1).

    .venv/bin/python docs/screenshots.py [--report out/report.html]

``dashboard.png``: the dashboard with the "larger military aid" lever at its maximum.
``report.png``: the top of the report (``--report``, e.g. the one ``make run`` wrote; else a quick one,
40 samples x 50 paths without the analysis sections, is written first).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Route, sync_playwright
from werkzeug.serving import make_server

from ceasefire.analysis.report_compute import compute_report
from ceasefire.analysis.report_data import ReportOptions
from ceasefire.report.html import CHROMIUM_ARGS, render_report
from ceasefire.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
IMG = Path(__file__).parent / "img"


def _local_only(route: Route) -> None:
    url = route.request.url
    if url.startswith("file://") or urlsplit(url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an existing report to photograph")
    args = parser.parse_args()
    IMG.mkdir(exist_ok=True)
    report = args.report
    tmp = tempfile.TemporaryDirectory()
    if report is None:
        report = Path(tmp.name) / "report.html"
        options = ReportOptions(samples=40, paths=50, sections=())
        report.write_text(render_report(compute_report("russia-ukraine-2026", options)), encoding="utf-8")

    app = create_app("russia-ukraine-2026")
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
            context = browser.new_context(viewport={"width": 1400, "height": 1100}, device_scale_factor=1)
            context.route("**/*", _local_only)
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/", timeout=60_000)
            page.locator("#p-settle-24").wait_for(timeout=60_000)
            before = page.locator("#p-settle-24").get_attribute("data-p")
            thumb = page.locator('[id*="more-military-aid"] [role="slider"]')
            thumb.focus()
            thumb.press("End")
            page.wait_for_function(
                "b => document.querySelector('#p-settle-24').dataset.p !== b", arg=before, timeout=60_000
            )
            page.wait_for_timeout(500)
            page.screenshot(path=str(IMG / "dashboard.png"))

            page = context.new_page()
            page.goto(report.resolve().as_uri(), timeout=60_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))",
                timeout=60_000,
            )
            page.screenshot(path=str(IMG / "report.png"))
            browser.close()
    finally:
        server.shutdown()
        tmp.cleanup()
    print(f"wrote {IMG / 'dashboard.png'} and {IMG / 'report.png'}")


if __name__ == "__main__":
    main()
