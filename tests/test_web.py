"""The dashboard without a browser: scenario lookup, input checks, previews, full runs, the served page."""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from dash import no_update

from ceasefire.scenario.load import LIBRARY, load_scenario, scenario_hash
from ceasefire.web import service as service_module
from ceasefire.web.admission import Gate
from ceasefire.web.app import Dashboard, create_app
from ceasefire.web.cache import CACHED, COMPUTED, SHARED, SingleFlightCache
from ceasefire.web.catalog import ScenarioCatalog, UnknownScenario
from ceasefire.web.limits import RunLimits, assumptions, clean_assumptions, clean_levers, cpus
from ceasefire.web.service import Busy, DashboardService, shifted

FLAGSHIP = "russia-ukraine-2026"
SMALL = RunLimits(preview_samples=4, preview_paths=10, preview_horizon=18, full_max_samples=3, full_max_paths=8,
                  max_horizon=18)  # fmt: skip


# -- which scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../russia-ukraine-2026",
        "../../etc/passwd",
        "/etc/passwd",
        str(LIBRARY / f"{FLAGSHIP}.toml"),
        f"{FLAGSHIP}.toml",
        "..",
        "",
        "x" * 100,
        "russia-ukraine-2026\x00",
        None,
        123,
        ["russia-ukraine-2026"],
    ],
)
def test_names_outside_the_catalog_are_refused(name: Any) -> None:
    catalog = ScenarioCatalog()
    with pytest.raises(UnknownScenario, match="unknown scenario"):
        catalog.path(name)


def test_folder_scenarios_plain_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(LIBRARY / f"{FLAGSHIP}.toml", folder / "mine.toml")
    shutil.copy(LIBRARY / f"{FLAGSHIP}.toml", folder / f"{FLAGSHIP}.toml")  # a shipped name: the shipped one wins
    outside = tmp_path / "outside.toml"
    shutil.copy(LIBRARY / f"{FLAGSHIP}.toml", outside)
    (folder / "link.toml").symlink_to(outside)
    (folder / "sub").mkdir()
    shutil.copy(LIBRARY / f"{FLAGSHIP}.toml", folder / "sub" / "inner.toml")
    (folder / "bad name.toml").write_text("x", encoding="utf-8")
    catalog = ScenarioCatalog(folder)
    assert "mine" in catalog.names()
    assert not {"link", "inner", "sub/inner", "bad name", "outside"} & set(catalog.names())
    assert catalog.path("mine") == (folder / "mine.toml").resolve()
    assert catalog.path(FLAGSHIP) == LIBRARY / f"{FLAGSHIP}.toml"
    for name in ("link", "sub/inner", "../outside"):
        with pytest.raises(UnknownScenario):
            catalog.path(name)
    assert catalog.load("mine").scenario.id == FLAGSHIP


# -- what the browser sends ---------------------------------------------------------------------


def test_lever_and_assumption_values_are_checked() -> None:
    sc = load_scenario(FLAGSHIP)
    assert clean_levers(sc, {"more-military-aid": 2.0, "carrot": 0}) == {"more-military-aid": 2.0}
    for bad, message in (
        ({"no-such-lever": 1.0}, "unknown lever"),
        ({"more-military-aid": 2.5}, "must lie in"),
        ({"carrot": float("nan")}, "finite number"),
        ({"carrot": True}, "finite number"),
        ({"carrot": "1"}, "finite number"),
    ):
        with pytest.raises(ValueError, match=message):
            clean_levers(sc, bad)
    neutral = {a.path: a.neutral for a in assumptions(sc)}
    assert clean_assumptions(sc, neutral) == {}
    with pytest.raises(ValueError, match="unknown assumption"):
        clean_assumptions(sc, {"leaders.A.discount": 0.5})
    with pytest.raises(ValueError, match="must lie in"):
        clean_assumptions(sc, {"leaders.A.optimism": 5.0})


def test_assumption_changes_shift_or_scale_within_the_domain() -> None:
    sc = load_scenario(FLAGSHIP)
    values = {
        "leaders.A.optimism": np.array([0.0, 0.1]),
        "sides.A.economy.sanctions": np.array([0.2, 0.9]),
        "leaders.A.reasons.punishment": np.array([24.0, 120.0]),
    }
    out = shifted(sc, values, {"leaders.A.optimism": -0.3, "sides.A.economy.sanctions": 0.3,
                               "leaders.A.reasons.punishment": 0.5})  # fmt: skip
    np.testing.assert_allclose(out["leaders.A.optimism"], [-0.3, -0.2])  # optimism may be negative
    np.testing.assert_allclose(out["sides.A.economy.sanctions"], [0.5, 1.0])  # a share stays in [0, 1]
    np.testing.assert_allclose(out["leaders.A.reasons.punishment"], [12.0, 60.0])
    np.testing.assert_array_equal(values["leaders.A.optimism"], [0.0, 0.1])  # the input is not changed


# -- previews -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> Dashboard:
    return Dashboard(limits=SMALL)


def _ids(kind: str, keys: list[str]) -> list[dict[str, str]]:
    return [{"type": kind, "id": k} for k in keys]


def test_preview_callback_returns_figures(dashboard: Dashboard) -> None:
    sc = load_scenario(FLAGSHIP)
    levers = [lv.id for lv in sc.levers]
    paths = [a.path for a in assumptions(sc)]
    values = [2.0 if k == "more-military-aid" else 0.0 for k in levers]
    cards, note, fan, terms, gaps, claims = dashboard.preview_outputs(
        FLAGSHIP, _ids("lever", levers), values, _ids("assumption", paths), [a.neutral for a in assumptions(sc)]
    )
    for fig in (fan, terms, gaps):
        assert isinstance(fig, go.Figure) and len(fig.data) > 0
    expected = dashboard.service.preview(FLAGSHIP, {"more-military-aid": 2.0}, {})
    assert list(fan.data[-1].y) == expected.curves["pooled"]
    assert [t.name for t in fan.data].count("without the changes") == 1
    by_id = {getattr(c.children[1], "id", None): c.children[1] for c in cards}
    shown = by_id["p-settle-12"]
    assert float(getattr(shown, "data-p")) == pytest.approx(expected.summary["settle_within"]["12 months"]["p"])
    # the preview covers 18 months: the 24-month window is not estimated, and the card says so
    assert by_id["p-settle-24"].children == "beyond the horizon" and not hasattr(by_id["p-settle-24"], "data-p")
    assert "more-military-aid=2" in note and f"{SMALL.preview_samples} samples" in note
    assert len(claims.children[1].children) == len(sc.claims)  # one row per claim


def test_claims_are_judged_on_the_previewed_world(dashboard: Dashboard) -> None:
    p = dashboard.service.preview(FLAGSHIP, {"more-military-aid": 2.0}, {})
    sc = load_scenario(FLAGSHIP)
    assert [c["id"] for c in p.claims] == [c.id for c in sc.claims]
    assert [c["id"] for c in p.baseline_claims] == [c.id for c in sc.claims]
    for c in p.claims:
        if "lever" in c["query"]:
            assert c["verdict"] == "not at preview"
        else:
            assert c["verdict"] in ("supported", "contradicted", "undecided")
            if c["estimate"] is not None and c["low"] is not None:
                assert c["low"] <= c["estimate"]
                # no upper end: the interval reaches past the horizon (a month the preview does not simulate)
                assert c["high"] is None or c["estimate"] <= c["high"]
    # a claim about P(settlement within 12 months): its estimate is the preview's own number
    p12 = [c for c in p.claims if c["query"].startswith("P(settlement within 12 months)")]
    assert p12, "the flagship states a claim about P(settlement within 12 months)"
    assert p12[0]["estimate"] == pytest.approx(p.summary["settle_within"]["12 months"]["p"])


def test_no_change_reproduces_the_baseline_exactly(dashboard: Dashboard) -> None:
    p = dashboard.service.preview(FLAGSHIP, {"carrot": 0.0}, {"leaders.A.optimism": 0.0})
    assert p.curves == p.baseline_curves and p.summary == p.baseline_summary


def test_common_random_numbers_a_lever_changes_only_what_it_touches(dashboard: Dashboard) -> None:
    # the same samples and paths: a lever at intensity 0 on a run of the baseline's samples is the baseline
    base = dashboard.service.baseline(FLAGSHIP)
    again = service_module.run(base.scenario, base.spec, samples_of=base)
    np.testing.assert_array_equal(again.outcomes.first_settlement, base.outcomes.first_settlement)


def test_preview_callback_reports_bad_input_without_raising(dashboard: Dashboard) -> None:
    cards, note, fan, _, _, claims = dashboard.preview_outputs("../../etc/passwd", [], [], [], [])
    assert claims == []
    assert cards == [] and note.startswith("error: unknown scenario")
    assert len(fan.data) == 0
    cards, note, *_ = dashboard.preview_outputs(FLAGSHIP, _ids("lever", ["carrot"]), [7.0], [], [])
    assert note.startswith("error: lever carrot")


def test_unknown_first_scenario_is_refused() -> None:
    with pytest.raises(UnknownScenario):
        create_app("../secrets", limits=SMALL)


# -- full runs ----------------------------------------------------------------------------------


def test_full_run_in_the_background_reports_progress(dashboard: Dashboard) -> None:
    job_id, poll_disabled, status = dashboard.start_outputs(FLAGSHIP, _ids("lever", ["carrot"]), [1.0], [], [])
    assert job_id is not None and poll_disabled is False and status == "started"
    deadline = time.monotonic() + 60
    while not dashboard.service.job(job_id).finished:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "full run did not finish"
        time.sleep(0.05)
    value, maximum, text, disabled, cards, fig, done = dashboard.poll_outputs(job_id)
    assert disabled is True and text.startswith("finished: 3 samples × 8 paths") and "carrot=1" in text
    assert value == maximum and len(cards) == 3 and len(fig.data) > 0 and done == job_id
    # the full run covers 18 months: its 24-month card says the window is beyond the horizon
    assert [c.children[1].children for c in cards][1] == "beyond the horizon"


def test_only_so_many_full_runs_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real_run = service_module.run

    def slow_run(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=30)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(service_module, "run", slow_run)
    service = DashboardService(ScenarioCatalog(), SMALL)
    first = service.start_full(FLAGSHIP, {}, {})
    with pytest.raises(Busy):
        service.start_full(FLAGSHIP, {}, {})
    release.set()
    deadline = time.monotonic() + 60
    while not service.job(first).finished:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.job(first).error is None  # type: ignore[union-attr]
    second = service.start_full(FLAGSHIP, {}, {})  # the slot is free again
    assert second != first
    while not service.job(second).finished:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.job("job-999") is None and service.job(None) is None


def _wait(service: DashboardService, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while not service.job(job_id).finished:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "full run did not finish"
        time.sleep(0.05)


@pytest.mark.parametrize(("levers", "changes", "passes"), [({}, {}, 1), ({"carrot": 1.0}, {}, 2),
                                                           ({}, {"leaders.A.optimism": 0.1}, 2)])  # fmt: skip
def test_full_run_progress_only_goes_forward(
    monkeypatch: pytest.MonkeyPatch, levers: dict[str, float], changes: dict[str, float], passes: int
) -> None:
    seen: list[tuple[int, int]] = []
    real_run = service_module.run
    service = DashboardService(ScenarioCatalog(), SMALL)

    def watched(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def report(done: int, total: int) -> None:
            progress(done, total)
            job = service.job(job_id)
            seen.append((job.done, job.total))  # type: ignore[union-attr]

        return real_run(*args, progress=report, **kwargs)

    monkeypatch.setattr(service_module, "run", watched)
    job_id = service.start_full(FLAGSHIP, levers, changes)
    _wait(service, job_id)
    job = service.job(job_id)
    assert job is not None and job.error is None
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(done) >= passes  # the flagship redraws samples: passes restart at 0
    assert {t for _, t in seen} == {SMALL.full_max_samples * passes} and job.done == job.total


def test_preview_cards_show_uncertainty_and_compare_with_the_full_run() -> None:
    dash = Dashboard(limits=SMALL)
    sc = load_scenario(FLAGSHIP)
    levers, paths = [lv.id for lv in sc.levers], [a.path for a in assumptions(sc)]
    values = [1.0 if k == "carrot" else 0.0 for k in levers]

    def card(name: str) -> dict[str, str]:
        cards = dash.preview_outputs(FLAGSHIP, _ids("lever", levers), values, _ids("assumption", paths),
                                     [a.neutral for a in assumptions(sc)])[0]  # fmt: skip
        texts = {}
        for c in cards:
            for part in c.children:
                if getattr(part, "id", None):
                    texts[part.id] = part.children
        return {k: v for k, v in texts.items() if k.startswith(name)}

    p = dash.service.preview(FLAGSHIP, {"carrot": 1.0}, {})
    se = p.summary["settle_within"]["12 months"]["se"]
    before = card("p-settle-12")
    assert before["p-settle-12-se"] == f"± {100 * se:.1f} points (Monte Carlo s.e., preview of 4 samples × 10 paths)"
    assert before["p-settle-12-vs-full"].startswith("press 'Full-size run'")

    other = dash.service.start_full(FLAGSHIP, {}, {})
    _wait(dash.service, other)
    assert card("p-settle-12")["p-settle-12-vs-full"].startswith("the full-size run was made with other settings")

    same = dash.service.start_full(FLAGSHIP, {"carrot": 1.0}, {})
    _wait(dash.service, same)
    full = dash.service.job(same).result["summary"]["settle_within"]["12 months"]  # type: ignore[union-attr]
    text = card("p-settle-12")["p-settle-12-vs-full"]
    assert text.startswith(f"full-size run (3 × 8): {100 * full['p']:.1f}% ± {100 * full['se']:.1f}")
    diff = abs(100 * (p.summary["settle_within"]["12 months"]["p"] - full["p"]))
    assert f"the preview is {diff:.1f} points" in text


def test_slider_labels_show_value_and_cost_and_reset_restores_the_scenario(dashboard: Dashboard) -> None:
    text = dashboard.value_text
    assert text("lever", FLAGSHIP, "more-military-aid", 1.5) == "1.5 of 2 · expected cost 31.5 bn USD/year"
    assert text("lever", FLAGSHIP, "more-military-aid", 0).startswith("off (0 of 2)")
    assert text("lever", FLAGSHIP, "no-such-lever", 1) == ""
    assert text("assumption", FLAGSHIP, "leaders.A.reasons.punishment", 1.25) == "× 1.25 the scenario's value"
    assert text("assumption", FLAGSHIP, "leaders.A.optimism", 0.0).endswith("(as in the scenario)")
    sc = load_scenario(FLAGSHIP)
    levers, paths = _ids("lever", [lv.id for lv in sc.levers]), _ids("assumption", [a.path for a in assumptions(sc)])
    lv, av = dashboard.reset_outputs(FLAGSHIP, levers, paths)
    assert lv == [0.0] * len(levers) and av == [a.neutral for a in assumptions(sc)]
    assert 1.0 in av  # the scale assumptions go back to x 1, not to 0


# -- the served page ----------------------------------------------------------------------------


def test_the_page_and_its_assets_are_served_locally() -> None:
    client = create_app(limits=SMALL).server.test_client()
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", text)
    assert sources, "expected script tags"
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for src in sources:
        if src.endswith(".js"):
            assert client.get(src).status_code == 200, src
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "http://" not in layout and "https://" not in layout  # the layout names no remote resource
    assert "more-military-aid" in layout


# -- the command --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [(["../../etc/passwd"], "unknown scenario"), (["--scenarios-dir", "/no/such/folder"], "--scenarios-dir")],
)
def test_serve_refuses_bad_input_before_starting(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from ceasefire.cli import app

    result = CliRunner().invoke(app, ["serve", *args, "--port", "1"])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_sliders_of_another_scenario_are_recognised(dashboard: Dashboard) -> None:
    sc = load_scenario(FLAGSHIP)
    levers = _ids("lever", [lv.id for lv in sc.levers])
    changes = _ids("assumption", [a.path for a in assumptions(sc)])
    assert not dashboard.stale_controls(FLAGSHIP, levers, changes)
    assert dashboard.stale_controls(FLAGSHIP, levers[:-1], changes)
    assert dashboard.stale_controls(FLAGSHIP, [*levers, {"type": "lever", "id": "other"}], changes)
    assert not dashboard.stale_controls("../unknown", levers, changes)  # reported by the preview instead


# -- the preview cache and the bounded queue -----------------------------------------------------


def test_cache_same_key_same_object_least_recently_used_dropped() -> None:
    cache: SingleFlightCache[list[int]] = SingleFlightCache(size=2)
    calls: list[str] = []

    def make(key: str) -> Any:
        def compute() -> list[int]:
            calls.append(key)
            return [len(calls)]

        return compute

    a, src = cache.get("a", make("a"))
    assert src == COMPUTED and cache.get("a", make("a")) == (a, CACHED) and cache.get("a", make("a"))[0] is a
    cache.get("b", make("b"))
    cache.get("a", make("a"))  # "a" is now the most recently used
    cache.get("c", make("c"))  # over the size: "b" goes
    assert [cache.get(k, make(k))[1] for k in "acb"] == [CACHED, CACHED, COMPUTED]
    assert calls == ["a", "b", "c", "b"]


def test_cache_computes_once_when_asked_at_once() -> None:
    cache: SingleFlightCache[object] = SingleFlightCache(size=4)
    calls = []
    users = 12
    barrier = threading.Barrier(users)

    def compute() -> object:
        calls.append(1)
        time.sleep(0.3)  # long enough for every other thread to arrive while it computes
        return object()

    answers: list[tuple[object, str]] = []

    def ask() -> None:
        barrier.wait(timeout=30)
        answers.append(cache.get(("k", 1), compute))

    threads = [threading.Thread(target=ask) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(calls) == 1 and len(answers) == users
    assert all(value is answers[0][0] for value, _ in answers)
    sources = [s for _, s in answers]
    assert sources.count(COMPUTED) == 1 and set(sources) <= {COMPUTED, SHARED, CACHED}


def test_cache_does_not_keep_a_failure() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(size=4)

    def broken() -> int:
        raise Busy("busy — try again")

    with pytest.raises(Busy):
        cache.get("k", broken)
    assert cache.get("k", lambda: 7) == (7, COMPUTED)


def test_identical_previews_are_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    service = DashboardService(ScenarioCatalog(), SMALL)
    service.baseline(FLAGSHIP)  # computed before run is counted
    real_run = service_module.run
    calls: list[dict[str, float]] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(dict(args[1].levers))
        time.sleep(0.2)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(service_module, "run", counted)
    users = 8
    barrier = threading.Barrier(users)
    got: list[Any] = []

    def ask(k: int) -> None:
        barrier.wait(timeout=30)
        levers = {"carrot": 0.5, "more-military-aid": 1.0} if k % 2 else {"more-military-aid": 1.0, "carrot": 0.5}
        got.append(service.preview(FLAGSHIP, levers, {"leaders.A.optimism": 0.0}))

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == users and all(p is got[0] for p in got)  # one object, whatever the dict order
    assert calls == [{"carrot": 0.5, "more-military-aid": 1.0}]  # computed once
    sc = load_scenario(FLAGSHIP)
    assert got[0].key == (
        FLAGSHIP,
        scenario_hash(FLAGSHIP),
        (("carrot", 0.5), ("more-military-aid", 1.0)),
        (),  # the neutral assumption is no change
        (SMALL.preview_samples, SMALL.preview_paths, SMALL.preview_horizon),
        sc.run.seed,
    )
    again, source = service.preview_with_source(FLAGSHIP, {"carrot": 0.5, "more-military-aid": 1.0}, {})
    assert again is got[0] and source == CACHED and len(calls) == 1
    other = service.preview(FLAGSHIP, {"carrot": 0.75, "more-military-aid": 1.0}, {})
    assert other is not got[0] and len(calls) == 2


def _wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_full_queue_refuses_with_a_busy_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """One preview computing (blocked), one waiting: the next one is told at once that the server is busy."""
    dash = Dashboard(limits=replace(SMALL, max_previews=1, preview_queue=1, preview_wait=60))
    service = dash.service
    service.baseline(FLAGSHIP)
    release = threading.Event()
    real_run = service_module.run

    def blocked(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=60)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(service_module, "run", blocked)
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=service.preview(FLAGSHIP, {"carrot": 0.25}, {})))
    first.start()
    _wait_for(lambda: service.gate.state()["running"] == 1)
    second = threading.Thread(target=lambda: results.update(second=service.preview(FLAGSHIP, {"carrot": 0.5}, {})))
    second.start()
    _wait_for(lambda: service.gate.state()["waiting"] == 1)
    try:
        start = time.perf_counter()
        cards, note, fan, terms, gaps, claims = dash.preview_outputs(
            FLAGSHIP, _ids("lever", ["carrot"]), [0.75], [], []
        )
        assert time.perf_counter() - start < 5  # at once, not after the queue
        assert note.startswith("busy — 1 preview computing and 1 waiting") and "try again" in note
        assert "Traceback" not in note and "error" not in note
        assert all(x is no_update for x in (cards, fan, terms, gaps, claims))  # the page keeps its figures
        assert service.gate.state()["refused"] == 1
        # an identical request joins the first instead of queueing: no refusal
        joined = threading.Thread(target=lambda: results.update(joined=service.preview(FLAGSHIP, {"carrot": 0.25}, {})))
        joined.start()
        # full-size runs: one at a time, a second refused with a message
        job, disabled, status = dash.start_outputs(FLAGSHIP, [], [], [], [])
        assert job is not None and status == "started"
        job2, disabled, status = dash.start_outputs(FLAGSHIP, [], [], [], [])
        assert job2 is None and disabled is True
        assert status.startswith("busy — 1 full-size run already going") and "try again" in status
    finally:
        release.set()
    for t in (first, second, joined):
        t.join(timeout=60)
    assert results["joined"] is results["first"] and results["second"].levers == {"carrot": 0.5}
    _wait_for(lambda: service.job(job).finished, 60)  # type: ignore[union-attr]
    assert service.gate.state() == {"running": 0, "waiting": 0, "refused": 1}


def test_a_long_wait_is_refused_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    service = DashboardService(ScenarioCatalog(), replace(SMALL, max_previews=1, preview_queue=5, preview_wait=0.3))
    service.baseline(FLAGSHIP)
    release = threading.Event()
    real_run = service_module.run
    monkeypatch.setattr(service_module, "run", lambda *a, **k: release.wait(timeout=60) and real_run(*a, **k))
    first = threading.Thread(target=lambda: service.preview(FLAGSHIP, {"carrot": 0.25}, {}))
    first.start()
    _wait_for(lambda: service.gate.state()["running"] == 1)
    try:
        start = time.perf_counter()
        with pytest.raises(Busy, match=r"busy — waited 0.3 s for a free preview slot \(1 at a time\); try again"):
            service.preview(FLAGSHIP, {"carrot": 0.5}, {})
        assert 0.25 <= time.perf_counter() - start < 5
    finally:
        release.set()
    first.join(timeout=60)
    assert service.preview(FLAGSHIP, {"carrot": 0.5}, {}).levers == {"carrot": 0.5}  # free again


def test_gate_serves_first_come_first_served() -> None:
    gate = Gate(slots=1, queue=3, wait=30)
    order: list[int] = []
    hold = threading.Event()

    def holder() -> None:
        with gate.slot():
            hold.wait(timeout=30)

    def waiter(k: int) -> None:
        with gate.slot():
            order.append(k)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    _wait_for(lambda: gate.state()["running"] == 1)
    for k in range(3):
        threads.append(threading.Thread(target=waiter, args=(k,)))
        threads[-1].start()
        _wait_for(lambda k=k: gate.state()["waiting"] == k + 1)  # type: ignore[misc]
    with pytest.raises(Busy, match="1 preview computing and 3 waiting"):
        with gate.slot():
            pass
    hold.set()
    for t in threads:
        t.join(timeout=30)
    assert order == [0, 1, 2] and gate.state() == {"running": 0, "waiting": 0, "refused": 1}


def test_gate_refuses_at_once_when_the_expected_wait_is_too_long() -> None:
    gate = Gate(slots=2, queue=10, wait=3.0)
    assert gate.expected_wait() is None
    hold = threading.Event()

    def holder() -> None:
        with gate.slot():
            hold.wait(timeout=30)

    threads = [threading.Thread(target=holder) for _ in range(4)]
    for k, t in enumerate(threads):
        t.start()
        _wait_for(lambda k=k: gate.state()["running"] + gate.state()["waiting"] == k + 1)  # type: ignore[misc]
    gate.mean_hold = 2.5  # as if each preview took 2.5 s
    assert gate.expected_wait() == pytest.approx((2 + 1) * 2.5 / 2)  # two waiting, two slots: 3.75 s > 3 s
    start = time.perf_counter()
    with pytest.raises(Busy, match=r"2 previews computing and 2 waiting, about 4 s of work ahead; try again"):
        with gate.slot():
            pass
    assert time.perf_counter() - start < 1  # at once
    gate.mean_hold = 1.0  # now 1.5 s expected: it may wait
    hold.set()
    with gate.slot():
        assert gate.state()["running"] >= 1
    for t in threads:
        t.join(timeout=30)
    assert gate.state()["refused"] == 1 and gate.mean_hold is not None and gate.mean_hold < 1.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("preview_queue", -1, "at least 0"), ("preview_wait", 0.0, "positive"), ("preview_cache", 0, "at least 1"),
     ("max_previews", 0, "at least 1"), ("preview_wait", float("inf"), "positive")],
)  # fmt: skip
def test_queue_limits_are_checked(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RunLimits(**{field: value})  # type: ignore[arg-type]
    assert RunLimits().max_previews == cpus() >= 1
