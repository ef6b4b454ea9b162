"""The dashboard lets no one in where they don't belong.

It binds to 127.0.0.1 unless told otherwise; it reads scenarios only from its catalog (the
shipped ones and the configured folder): traversal with ``../``, absolute paths, symbolic links
and URL-encoding is refused at the HTTP level; request bodies are size-limited; what a request
can make the server compute is capped; and under concurrent load no request fails.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from ceasefire.cli import app as cli
from ceasefire.scenario.load import LIBRARY
from ceasefire.web import catalog as catalog_module
from ceasefire.web.app import MAX_REQUEST_BYTES, Dashboard
from ceasefire.web.limits import RunLimits

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from load_dashboard import SMALL_LIMITS, Controls, Server, preview_ok, run_load

FLAGSHIP = "russia-ukraine-2026"
TEXT = (LIBRARY / f"{FLAGSHIP}.toml").read_text(encoding="utf-8")
SECRET = "SECRET-7f3a9c-DO-NOT-SERVE"
LIMITS = RunLimits(**SMALL_LIMITS)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A scenarios folder with one good file, a symlink to a file outside, and secrets next to it."""
    root = tmp_path_factory.mktemp("web")
    folder = root / "scenarios"
    folder.mkdir()
    (folder / "mine.toml").write_text(TEXT.replace('id = "russia-ukraine-2026"', 'id = "mine"'), encoding="utf-8")
    outside = root / "outside.toml"  # a valid scenario, but not in the folder
    outside.write_text(TEXT.replace("Russia–Ukraine war, from February 2026", SECRET), encoding="utf-8")
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / "linked.toml").symlink_to(outside)
    (folder / "hardcopy.toml").write_text(TEXT, encoding="utf-8")
    huge = TEXT.replace("samples = 200", "samples = 1000000").replace("paths = 200", "paths = 10000000")
    (folder / "huge.toml").write_text(huge.replace("horizon = 60", "horizon = 600"), encoding="utf-8")
    dashboard = Dashboard(scenarios_dir=folder, limits=LIMITS)
    return {"root": root, "folder": folder, "outside": outside, "dashboard": dashboard}


@pytest.fixture(scope="module")
def client(site: dict[str, Any]) -> Any:
    return site["dashboard"].app.server.test_client()


@pytest.fixture(scope="module")
def controls(client: Any) -> Controls:
    """The preview callback's shape, read from the app the way the browser reads it."""
    return Controls.read("", fetch=lambda url: client.get(url).get_json())


def preview(client: Any, controls: Controls, scenario: Any, levers: Any = None, changes: Any = None) -> Any:
    body = controls.payload(scenario, levers or {}, changes or {}, "scenario.value")
    return client.post("/_dash-update-component", data=body, content_type="application/json")


def note_of(response: Any) -> str:
    return str(response.get_json()["response"]["preview-note"]["children"])


# -- binding ---------------------------------------------------------------------------------------


def test_serve_binds_to_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import dash

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: calls.append(kw))
    runner = CliRunner()
    assert runner.invoke(cli, ["serve"]).exit_code == 0
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["debug"] is False
    result = runner.invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0 and calls[-1]["host"] == "0.0.0.0"
    assert "no authentication" in " ".join(result.output.split())  # told otherwise: it warns


# -- scenarios only from the catalog ---------------------------------------------------------------

TRAVERSALS = [
    "../outside",
    "../../etc/passwd",
    "/etc/passwd",
    "..%2Foutside",
    "%2e%2e%2foutside",
    "....//outside",
    "..\\outside",
    "linked",  # a symbolic link in the folder that points outside
    "mine.toml",
    "mine/../linked",
    "mine\x00",
    "~/outside",
    "file:///etc/passwd",
    "x" * 10_000,
    "",
    None,
    17,
    ["mine"],
    {"id": "mine"},
]


@pytest.mark.parametrize("name", TRAVERSALS, ids=lambda n: repr(n)[:30])
def test_scenario_names_from_the_browser_never_reach_a_file_outside(
    site: dict[str, Any], client: Any, controls: Controls, monkeypatch: pytest.MonkeyPatch, name: Any
) -> None:
    opened: list[Path] = []
    real = catalog_module.load_scenario

    def spy(path: Any) -> Any:
        opened.append(Path(path))
        return real(path)

    monkeypatch.setattr(catalog_module, "load_scenario", spy)
    site["dashboard"].catalog._loaded.clear()  # make every load go through the spy
    for value in (name, quote(name) if isinstance(name, str) else name):
        response = preview(client, controls, value)
        assert response.status_code == 200
        note = note_of(response)
        assert note.startswith("error:") and "unknown scenario" in note
        assert SECRET not in response.get_data(as_text=True)
    allowed = (LIBRARY.resolve(), site["folder"].resolve())
    assert all(p.resolve().parent in allowed and not p.is_symlink() for p in opened), opened


def test_the_catalog_offers_the_folder_but_not_its_link(site: dict[str, Any], client: Any, controls: Controls) -> None:
    names = site["dashboard"].catalog.names()
    assert "mine" in names and "hardcopy" in names and "linked" not in names
    response = preview(client, controls, "mine")
    assert preview_ok(response.status_code, response.get_data()) is None


URLS = [
    "/assets/../../outside.toml",
    "/assets/..%2f..%2foutside.toml",
    "/assets/%2e%2e/%2e%2e/secret.txt",
    "/_dash-component-suites/../../secret.txt",
    "/_dash-component-suites/dash/..%2f..%2f..%2f..%2fetc/passwd",
    "/_dash-component-suites/dash/deps/../../../../secret.txt",
    "/_dash-component-suites/ceasefire/scenario/library/russia-ukraine-2026.toml",
    "/_dash-component-suites/os/path.py",
    "/%2e%2e/%2e%2e/secret.txt",
    "/..%5c..%5csecret.txt",
    "//etc/passwd",
]


@pytest.mark.parametrize("url", URLS)
def test_no_url_serves_a_file_it_should_not(site: dict[str, Any], client: Any, url: str) -> None:
    root = str(site["root"])
    for candidate in (url, url.replace("secret.txt", f"{root}/secret.txt")):
        response = client.get(candidate)
        body = response.get_data(as_text=True)
        assert SECRET not in body and "root:x:0:0" not in body
        assert "Traceback" not in body  # errors are not shown to the browser
        # Dash answers unknown paths with its page (a single-page app) or refuses them; never a file
        assert response.status_code in (200, 400, 404, 500)
        if response.status_code == 200:
            assert "<!DOCTYPE html>" in body[:200]


def test_there_is_no_upload(client: Any) -> None:
    """Scenarios are offered from files only; if an upload is ever added, it must go through
    ``parse_scenario`` with ``MAX_BYTES`` like a file (see docs/robustness.md)."""
    layout = json.dumps(client.get("/_dash-layout").get_json())
    assert '"type": "Upload"' not in layout


# -- how much work one request may cause ----------------------------------------------------------


def test_request_bodies_are_size_limited(client: Any, controls: Controls) -> None:
    body = controls.payload(FLAGSHIP, {}, {}, "scenario.value")
    padded = body[:-1] + b', "pad": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    response = client.post("/_dash-update-component", data=padded, content_type="application/json")
    assert response.status_code == 413
    assert preview(client, controls, FLAGSHIP).status_code == 200  # and the server goes on


@pytest.mark.parametrize(
    ("levers", "changes"),
    [
        ({"carrot": 1e309}, {}),
        ({"carrot": "1"}, {}),
        ({"carrot": -1.0}, {}),
        ({"carrot": 1e6}, {}),
        ({"no-such-lever": 1.0}, {}),
        ({}, {"leaders.A.optimism": 99.0}),
        ({}, {"sides.A.forces.manpower": 2.0}),
        ({}, {"leaders.A.optimism": [0.1] * 1000}),
    ],
)
def test_slider_values_are_checked(client: Any, controls: Controls, levers: Any, changes: Any) -> None:
    if any(k not in {i for i, *_ in controls.levers} for k in levers) or any(
        k not in {p for p, *_ in controls.assumptions} for k in changes
    ):
        # ids the page does not have: send them as an extra slider, as a crafted request would
        controls = Controls(
            controls.output,
            controls.outputs,
            controls.scenario,
            [*controls.levers, *((k, 1.0, 0.25) for k in levers)],
            [*controls.assumptions, *((k, 0.0, 1.0, 0.1, 0.0) for k in changes)],
        )
    response = preview(client, controls, FLAGSHIP, levers, changes)
    assert response.status_code == 200
    answer = response.get_json()["response"]
    if "preview-note" in answer:
        assert note_of(response).startswith("error:")
    else:  # sliders the page does not have: the dashboard takes it for a page being rebuilt, and computes nothing
        assert answer == {}


def test_previews_are_small_whatever_the_scenario_asks(site: dict[str, Any], client: Any, controls: Controls) -> None:
    """A scenario asking for 10^6 samples x 10^7 paths x 600 months is previewed at the preview size."""
    start = time.perf_counter()
    response = preview(client, controls, "huge")
    assert preview_ok(response.status_code, response.get_data()) is None
    note = note_of(response)
    assert f"preview: {LIMITS.preview_samples} samples × {LIMITS.preview_paths} paths" in note
    assert time.perf_counter() - start < 120


def test_full_runs_are_capped_and_one_at_a_time(site: dict[str, Any]) -> None:
    service = site["dashboard"].service
    first = service.start_full("huge", {}, {})
    spec = service.job(first).spec
    assert (spec.samples, spec.paths, spec.horizon) == (
        LIMITS.full_max_samples,
        LIMITS.full_max_paths,
        LIMITS.max_horizon,
    )
    from ceasefire.web.service import Busy

    with pytest.raises(Busy, match="already going"):
        service.start_full(FLAGSHIP, {}, {})
    deadline = time.monotonic() + 120
    while not service.job(first).finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.job(first).error is None


# -- a real server: loopback only, and load --------------------------------------------------------


def _non_loopback_address() -> str | None:
    """An address of this machine other than loopback, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.slow
def test_loopback_only_and_twenty_users_under_load() -> None:
    """A real server process: it answers on 127.0.0.1 only, and 20 users moving sliders for 8 s get
    an answer to every request, a preview or a "busy — try again" (the bench script runs 50 users
    for a minute)."""
    with Server(SMALL_LIMITS) as server:
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(OSError), socket.create_connection((other, server.port), timeout=2):
                pass
        stats = run_load(server.url, users=20, seconds=8, think=(0.1, 0.5), seed=1, timeout=60)
    print(json.dumps({k: v for k, v in stats.items() if k != "failures"}))
    assert stats["failed"] == 0, stats["failures"]
    # every request answered; how many previews 8 s hold depends on the machine's load, not the server
    assert stats["ok"] + stats["busy"] == stats["requests"] and stats["ok"] >= 1
    assert stats["unfinished_users"] == 0
    assert stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"]
    assert stats["computed"] + stats["cached"] + stats["shared"] == stats["ok"]
    assert stats["cached"] + stats["shared"] > 0  # sliders have discrete positions: users meet on the same ones
    assert all(m.startswith("busy — ") and "try again" in m for m in stats["busy_messages"])
    if stats["busy"]:  # refused within the wait limit, not after minutes
        assert stats["busy_latency"]["max"] < RunLimits().preview_wait + 10


def test_load_tests_refuse_addresses_other_than_loopback() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        run_load("http://10.0.0.1:8050", users=1, seconds=1)
