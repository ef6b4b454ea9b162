"""`ceasefire claims`: verdicts on a scenario built so that each is certain; the consistency checks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ceasefire.analysis.claims import _bootstrap_weights, _verdict, check_claims, evaluate, war_course
from ceasefire.analysis.consistency import check_consistency, stated_range
from ceasefire.cli import app
from ceasefire.model.attrition import DAYS_PER_MONTH
from ceasefire.run.experiment import RunSpec, run
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.query import parse_query
from ceasefire.scenario.schema import Figure

DATA = Path(__file__).parent / "data"
CERTAIN = DATA / "claims-toy.toml"
FLAGSHIP = "russia-ukraine-2026"

SMALL_STUDY = {"lever_batch_samples": 5, "lever_paths": 8, "lever_max_samples": 10}
"""The lever study of the lever claims, small (its batches' sizes, and the samples it may grow to)."""

EXPECTED = {
    "no-deal-soon": "supported",  # no terms before month 30: P = 0 exactly
    "deal-soon": "contradicted",
    "long-war": "supported",  # the median settlement month is beyond the horizon
    "ceasefire-holds": "undecided",  # no ceasefire is ever signed: not defined
    "aid-brings-deal": "contradicted",  # the change is exactly 0
    "aid-changes-nothing": "supported",
    "year-of-losses": "supported",  # exactly 1,000 a day for 12 months
    "fewer-losses": "contradicted",
    "east-falls-fast": "supported",  # 6,000 km² a month takes 10,000 km² in 2 months
    "east-costs": "contradicted",  # 2 months of 1,000 a day
    "east-taken": "supported",
    "b-losses": "supported",
    "a-falls": "supported",
}


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return check_claims(load_scenario(CERTAIN), samples=5, paths=8, resamples=200, **SMALL_STUDY)


def test_each_verdict_is_the_certain_one(report) -> None:  # type: ignore[no-untyped-def]
    got = {c.id: c.verdict for c in report.claims}
    assert got == EXPECTED


def test_estimates_are_the_known_numbers(report) -> None:  # type: ignore[no-untyped-def]
    by_id = {c.id: c for c in report.claims}
    year = 1000 * DAYS_PER_MONTH * 12
    assert by_id["year-of-losses"].estimate == pytest.approx(year, rel=1e-12)
    assert (by_id["year-of-losses"].low, by_id["year-of-losses"].high) == pytest.approx((year, year), rel=1e-12)
    assert by_id["east-costs"].estimate == pytest.approx(2 * 1000 * DAYS_PER_MONTH, rel=1e-12)
    assert by_id["east-falls-fast"].estimate == 2
    assert by_id["no-deal-soon"].estimate == 0.0
    assert by_id["long-war"].estimate is None and "beyond horizon" in by_id["long-war"].display
    assert by_id["ceasefire-holds"].estimate is None
    assert by_id["aid-brings-deal"].estimate == 0.0
    assert report.sizes["runs"] == 3  # the baseline, more-aid at 2, more-aid at 1


def test_report_is_json_safe_with_the_public_keys(report) -> None:  # type: ignore[no-untyped-def]
    doc = report.to_dict()
    json.dumps(doc, allow_nan=False)
    assert set(doc) >= {"claims", "inconsistencies", "seconds"}
    keys = {"id", "source", "asserts", "query", "estimate", "low", "high", "verdict", "rule"}
    assert all(keys <= set(c) for c in doc["claims"])


def test_the_verdict_rule_straddle_is_undecided() -> None:
    """A threshold inside a nonzero-width interval is undecided; outside it, decided."""
    sc = load_scenario(DATA / "toy.toml")
    base = run(sc, RunSpec.from_scenario(sc, samples=12, paths=16, horizon=12, policy="myopic"))
    weights = _bootstrap_weights(12, 0, 300)
    query = parse_query("mean casualties of A over horizon > 1")
    est, low, high = evaluate(query, base, None, None, None, weights)
    assert low < est < high  # casualties_per_day is uncertain in the toy
    mid = parse_query(f"mean casualties of A over horizon > {est!r}")
    assert _verdict(mid, est, low, high) == "undecided"
    assert _verdict(parse_query(f"mean casualties of A over horizon > {low * 0.99!r}"), est, low, high) == "supported"
    assert _verdict(parse_query(f"mean casualties of A over horizon > {high * 1.01!r}"), est, low, high) == (
        "contradicted"
    )
    # the interval is reproducible: the bootstrap has a fixed seed
    assert evaluate(query, base, None, None, None, _bootstrap_weights(12, 0, 300)) == (est, low, high)


def test_war_course_matches_the_engine_until_a_deal() -> None:
    """The war fought on uses the run's true paths: with no deal possible, the run's casualties at the horizon."""
    sc = load_scenario(CERTAIN)
    base = run(sc, RunSpec.from_scenario(sc, samples=3, paths=4))
    course = war_course(base)
    np.testing.assert_allclose(course.casualties["A"][-1], base.outcomes.casualties_total["A"], rtol=1e-12)
    np.testing.assert_allclose(course.casualties["B"][-1], base.outcomes.casualties_total["B"], rtol=1e-12)
    assert (course.taken_month[:, 0] == 2).all()


def test_the_flagship_sources_contradict_each_other_on_the_rate() -> None:
    results = {r.id: r for r in check_consistency(load_scenario("russia-ukraine-2026"))}
    rate = results["casualty-rate-2025"]
    days = (dt.date(2026, 2, 1) - dt.date(2025, 4, 15)).days
    assert rate.implied == pytest.approx(500_000 / days)
    assert 1650 < rate.implied < 1750
    assert (rate.stated_low, rate.stated_high) == (850, 1000)
    assert not rate.consistent and rate.ratio == pytest.approx(rate.implied / 1000)
    assert "1,712" in rate.explanation and "850–1,000" in rate.explanation
    assert results["ryan-total-from-rate"].consistent  # 850 a day for 1,438 days is 1.22 million
    assert results["ryan-area-rate"].consistent  # 45,700 sq mi over 1,438 days is 31.8 a day
    share = results["ryan-share-vs-area"]
    assert not share.consistent and share.implied == pytest.approx(0.12 * 603550 * 0.386102)
    quotes = {f["id"]: f["quote"] for f in rate.figures}
    assert "700,000" in quotes["aron-casualties"] and "1.2 million" in quotes["ryan-casualties"]


def test_stated_ranges() -> None:
    def fig(**kw: object) -> Figure:
        return Figure(id="f", name="f", unit="u", date=dt.date(2025, 1, 1), source="s", **kw)  # type: ignore[arg-type]

    assert stated_range(fig(value=5)) == (5, 5)
    assert stated_range(fig(value=5, low=4, high=7)) == (4, 7)
    assert stated_range(fig(value=5, qualifier="at least")) == (5, float("inf"))
    assert stated_range(fig(value=5, qualifier="at most")) == (float("-inf"), 5)


def test_flagship_claims_cover_both_articles() -> None:
    sc = load_scenario("russia-ukraine-2026")
    sources = [c.source for c in sc.claims]
    assert len(sources) >= 10 and sources.count("ryan-2026") >= 3 and sources.count("aron-2025") >= 3
    sides = {s: [f.id for f in sc.factors if s in f.applies_to()] for s in ("A", "B")}
    assert 0 < len(sides["A"]) <= 12 and 0 < len(sides["B"]) <= 12


def test_cli_claims(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["claims", str(CERTAIN), "--samples", "3", "--paths", "4", "--json", "-"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert {c["id"]: c["verdict"] for c in doc["claims"]} == EXPECTED
    assert [r["consistent"] for r in doc["inconsistencies"]] == [False, True]
    target = tmp_path / "claims.json"
    table = runner.invoke(app, ["claims", str(CERTAIN), "--samples", "3", "--paths", "4", "--json", str(target)])
    assert table.exit_code == 0 and "contradiction" in table.stdout and target.exists()
    none = runner.invoke(app, ["claims", str(DATA / "toy.toml")])
    assert none.exit_code == 2 and "no [[claims]]" in none.output


def test_a_given_base_run_gives_the_same_claims_and_a_mismatched_one_is_refused() -> None:
    sc = load_scenario(CERTAIN)
    alone = check_claims(sc, samples=4, paths=8, resamples=100, **SMALL_STUDY)
    base = run(sc, RunSpec.from_scenario(sc, samples=4, paths=8))
    reused = check_claims(sc, samples=4, paths=8, resamples=100, base=base, **SMALL_STUDY)
    assert [c.to_dict() for c in reused.claims] == [c.to_dict() for c in alone.claims]
    with pytest.raises(ValueError, match="base must be a run of the same scenario"):
        check_claims(sc, samples=4, paths=6, resamples=100, base=base)


def test_lever_claims_are_checked_on_the_lever_study() -> None:
    from ceasefire.analysis.claims import claim_packages
    from ceasefire.analysis.levers import Setting, difference, lever_effects_within

    sc = load_scenario(FLAGSHIP)
    packages = claim_packages(sc)
    assert {"more-military-aid": 2.0, "steady-aid": 1.0} in packages and len(packages) == 4
    study_args = {"batch_samples": 4, "paths": 8, "max_samples": 8, "horizon": 24}
    effects, study = lever_effects_within(sc, packages=packages, **study_args)
    given = check_claims(sc, samples=3, paths=4, horizon=24, resamples=100, lever_study=study)
    alone = check_claims(sc, samples=3, paths=4, horizon=24, resamples=100, lever_batch_samples=4, lever_paths=8,
                         lever_max_samples=8)  # fmt: skip
    assert [c.to_dict() for c in given.claims] == [c.to_dict() for c in alone.claims]
    assert (given.sizes["lever_samples"], given.sizes["lever_paths"]) == (study.samples, 8)
    # a lever claim's estimate is the study's change, the same number the levers section shows
    claim = next(c for c in given.claims if c.id == "secondary-sanctions")
    change = difference(study.simulate([Setting({"secondary-oil-sanctions": 1.0})])[0], study.tally(), "p24")
    assert claim.estimate == pytest.approx(change.value)
    assert claim.estimate == pytest.approx(effects.row("secondary-oil-sanctions", 1.0).d_p24)
