"""`ceasefire claims`: verdicts on a scenario built so that each is certain; the consistency checks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ceasefire.analysis.claims import (
    _bootstrap_weights,
    _estimate,
    _kaplan_meier,
    _reason,
    _Values,
    _verdict,
    check_claims,
    evaluate,
)
from ceasefire.analysis.consistency import check_consistency, stated_range
from ceasefire.analysis.worlds import course
from ceasefire.cli import app
from ceasefire.model.attrition import DAYS_PER_MONTH
from ceasefire.run.experiment import RunResult, RunSpec, run
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
    est, low, high = evaluate(query, base, weights)
    assert low < est < high  # casualties_per_day is uncertain in the toy
    mid = parse_query(f"mean casualties of A over horizon > {est!r}")
    assert _verdict(mid, est, low, high) == "undecided"
    assert _verdict(parse_query(f"mean casualties of A over horizon > {low * 0.99!r}"), est, low, high) == "supported"
    assert _verdict(parse_query(f"mean casualties of A over horizon > {high * 1.01!r}"), est, low, high) == (
        "contradicted"
    )
    # the interval is reproducible: the bootstrap has a fixed seed
    assert evaluate(query, base, _bootstrap_weights(12, 0, 300)) == (est, low, high)


def test_war_course_matches_the_engine_until_a_deal() -> None:
    """The war fought on uses the run's true paths: with no deal possible, the run's casualties at the horizon."""
    sc = load_scenario(CERTAIN)
    base = run(sc, RunSpec.from_scenario(sc, samples=3, paths=4))
    fought = course(base, "war")
    np.testing.assert_allclose(fought.casualties["A"][-1], base.outcomes.casualties_total["A"], rtol=1e-12)
    np.testing.assert_allclose(fought.casualties["B"][-1], base.outcomes.casualties_total["B"], rtol=1e-12)
    assert (fought.taken_month[:, 0] == 2).all()


def test_the_war_fought_on_draws_the_runs_events() -> None:
    """Events act in the war fought on as in the run, in the months the run drew for them: with no deal
    allowed the run is the war fought on, and the events toy's palace crisis (a monthly probability) and
    its dated shock remove A's leader on the same paths in the same months."""
    sc = load_scenario(DATA / "events-toy.toml")
    base = run(sc, RunSpec.from_scenario(sc, samples=4, paths=40, seed=3, allow_settlement=False))
    o = base.outcomes
    fought = course(base, "war")
    assert (o.removal_month["A"] >= 0).sum() >= 40  # the crisis topples many incumbents
    np.testing.assert_array_equal(fought.removal_month["A"], o.removal_month["A"])
    np.testing.assert_array_equal(fought.removal_month["B"], o.removal_month["B"])
    for side in ("A", "B"):
        np.testing.assert_allclose(fought.casualties[side][-1], o.casualties_total[side], rtol=1e-12)


def test_a_settlement_from_the_start_waits_for_the_patrons_assent() -> None:
    """In the world "if settled on" the terms are signed only once they are on the table: the patron toy's
    patron vetoes them until an election replaces him in month 6, the talks then take 2 months."""
    sc = load_scenario(DATA / "patron-toy.toml")
    base = run(sc, RunSpec.from_scenario(sc, samples=2, paths=20, seed=3, policy="myopic"))
    settled = course(base, "settled:cede-east")
    np.testing.assert_array_equal(settled.first_settlement, 6 + 2)


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
    assert len(sources) >= 15 and sources.count("ryan-2026") >= 5 and sources.count("aron-2025") >= 5
    assert all(c.note for c in sc.claims), "every claim says how its query tests the source"
    sides = {s: [f.id for f in sc.factors if s in f.applies_to()] for s in ("A", "B")}
    assert 0 < len(sides["A"]) <= 12 and 0 < len(sides["B"]) <= 12


def test_flagship_claims_test_what_the_sources_assert() -> None:
    """The shapes issue 29 asks for: Ryan's comparison is one; Aron's sticks are judged by a settlement
    short of a capitulation; a weak threat is among the claims; no claim checks a 2025 figure."""
    sc = load_scenario("russia-ukraine-2026")
    claims = {c.id: parse_query(c.query) for c in sc.claims}
    survive = claims["fights-to-survive"]
    assert survive.is_comparison and survive.right is not None
    assert (survive.left.quantity.world, survive.left.quantity.settled_on) == ("settled", "freeze")
    assert survive.right.quantity.world == "war" and survive.right.factor == 2.0
    capitulations = {"russian-demands", "donetsk-for-guarantees"}
    sticks = [q for q in claims.values() if q.is_lever and all(lv.id != "carrot" for lv in q.left.levers)]
    assert len(sticks) >= 6
    for q in sticks:
        settles = [o.quantity for o in q.operands]
        assert all(s.kind == "settle" and s.terms and not set(s.terms) & capitulations for s in settles), q.text
    weak = [lv for q in sticks for lv in q.left.levers if lv.credibility is not None and lv.credibility <= 0.2]
    assert weak and claims["threats-move-little"].op == "<="
    assert claims["ceasefire-temporary"].quantity.kind == "holds"
    assert claims["russia-breaks-agreements"].quantity.side == "A"
    assert "thousand-a-day" not in claims  # a 2025 figure: checked under [[figures]], not a claim


# -- by construction: the same verdict with the model's dynamics switched off ---------------------

CONSTRUCTION = DATA / "construction-toy.toml"


@pytest.fixture(scope="module")
def construction():  # type: ignore[no-untyped-def]
    sc = load_scenario(CONSTRUCTION)
    base = run(sc, RunSpec.from_scenario(sc, samples=8, paths=16))  # the run check_claims makes, for counting
    return sc, check_claims(sc, samples=8, paths=16, resamples=300), base


def test_a_tautology_is_flagged_by_construction(construction) -> None:  # type: ignore[no-untyped-def]
    _, report, _ = construction
    by_id = {c.id: c for c in report.claims}
    taut = by_id["tautology"]
    assert taut.verdict == "supported" and taut.null_verdict == "supported" and taut.by_construction
    # a lever never carried out: the same numbers, bit for bit, with or without the dynamics
    empty = by_id["empty-carrot"]
    assert (empty.estimate, empty.low, empty.high) == (0.0, 0.0, 0.0)
    assert empty.verdict == "supported" and empty.by_construction


def test_a_claim_that_needs_the_model_is_not(construction) -> None:  # type: ignore[no-untyped-def]
    _, report, _ = construction
    deal = next(c for c in report.claims if c.id == "deal-likely")
    assert deal.verdict == "supported" and deal.estimate is not None and deal.estimate > 0.05
    assert deal.null_verdict == "contradicted" and deal.null_display.startswith("0.000")  # nobody signs
    assert not deal.by_construction
    carrot = next(c for c in report.claims if c.id == "carrot-helps")  # a lever's effect needs the decisions
    assert carrot.verdict == "supported" and carrot.null_verdict == "contradicted" and not carrot.by_construction
    undecided = [c for c in report.claims if c.verdict == "undecided"]
    assert not any(c.by_construction for c in undecided)  # only a decided verdict can be by construction


def test_the_flag_is_in_the_json(construction) -> None:  # type: ignore[no-untyped-def]
    _, report, _ = construction
    doc = report.to_dict()
    json.dumps(doc, allow_nan=False)
    assert {c["id"]: c["by_construction"] for c in doc["claims"]}["tautology"] is True
    assert all({"by_construction", "null_verdict", "null_display", "note"} <= set(c) for c in doc["claims"])


def test_an_input_prior_restated_is_by_construction(construction) -> None:  # type: ignore[no-untyped-def]
    """Nobody resumes a war by choice in the toy: a ceasefire's survival is its input breakdown rate's."""
    sc, report, base = construction
    c = next(c for c in report.claims if c.id == "prior-ceasefire")
    assert c.verdict == "supported" and c.by_construction
    o = base.outcomes
    signed = o.first_settlement >= 0
    guarantees = np.array([t.security_guarantees for t in sc.terms])[o.first_terms[signed]]
    rate = 0.02 * np.where(guarantees, 0.5, 1.0) * 1.2**1  # breakdown, guarantee factor, record factor ^ prior
    expected = np.mean((1.0 - rate) ** 12)
    assert float(c.null_display.split()[0]) == pytest.approx(expected, abs=5e-4)


def test_the_null_world_moves_at_the_calibrated_rates() -> None:
    sc = load_scenario(CONSTRUCTION)
    base = run(sc, RunSpec.from_scenario(sc, samples=3, paths=4))
    null = course(base, "war", frozen=True)
    per_day = 1000.0  # casualties_per_day in the toy is uncertain: read the run's samples
    per_day = np.repeat(base.parameters["attrition.casualties_per_day"], 4)
    months = np.arange(base.spec.horizon + 1)[:, None]
    np.testing.assert_allclose(null.casualties["A"], months * per_day[None, :] * DAYS_PER_MONTH, rtol=1e-12)
    gain = np.repeat(base.parameters["territory.gain_km2_per_month"], 4)
    east = 10000.0
    expected = np.where(gain > 0, np.ceil(east / np.where(gain > 0, gain, 1.0)), np.inf)
    expected = np.where(expected <= base.spec.horizon, expected, np.inf)
    np.testing.assert_array_equal(null.taken_month[:, 0], expected)
    assert (null.first_settlement == -1).all()


def test_a_settlement_from_the_start_is_signed_in_month_0() -> None:
    sc = load_scenario(CONSTRUCTION)
    base = run(sc, RunSpec.from_scenario(sc, samples=3, paths=4))
    for frozen in (False, True):
        world = course(base, "settled:status-quo", frozen=frozen)
        assert (world.first_settlement == 0).all() and (world.first_terms == 0).all()
        assert (world.casualties["A"][1] == 0).all()  # peace from the first month (until a breakdown)
    # the war fought on is the run itself until its first settlement
    war = course(base, "war")
    never = base.outcomes.first_settlement < 0
    np.testing.assert_array_equal(war.removal_month["A"][never], base.outcomes.removal_month["A"][never])


def test_conditional_accepted_and_compared_estimates_are_the_counts(construction) -> None:  # type: ignore[no-untyped-def]
    _, report, base = construction
    o = base.outcomes
    within = (o.first_settlement >= 0) & (o.first_settlement < 24)
    by_id = {c.id: c for c in report.claims}
    on_line = within & (o.first_terms == 0)
    assert by_id["mostly-status-quo"].estimate == pytest.approx(on_line.sum() / within.sum())
    # B's public rejects status-quo by 30% and freeze by 70%: only status-quo is accepted
    assert by_id["accepted-deal"].estimate == pytest.approx(on_line.mean())
    weights = _bootstrap_weights(8, 1, 50)
    left = evaluate(parse_query('P(leader A removed within 12 months if settled on "status-quo") > 0'), base, weights)
    right = evaluate(parse_query("P(leader A removed within 12 months if war fought on) > 0"), base, weights)
    peace = by_id["peace-riskier"]
    assert peace.estimate == pytest.approx(left[0] - right[0])
    assert [op["estimate"] for op in peace.operands] == pytest.approx([left[0], right[0]])


def test_kaplan_meier_by_hand() -> None:
    """Five ceasefires in one sample: broken in their 1st and 3rd month (the first by A), one censored
    after 2 months, two still holding after 4. S(3) = (1 - 1/5)(1 - 0/4)(1 - 1/3) = 8/15."""
    held = np.array([1.0, 3.0, 2.0, 4.0, 4.0])
    broke = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    by = np.array([1.0, 0.0, -1.0, -1.0, -1.0])
    v = _Values(np.zeros(5), np.ones(5, dtype=bool), "km", cease=(held, broke, by))
    sample = np.zeros(5, dtype=np.int64)
    one = np.ones((1, 1))
    holds = parse_query("P(ceasefire holds 3 months) > 0.5").quantity
    assert _kaplan_meier(v, holds, sample, one)[0] == pytest.approx(8 / 15)
    broken = parse_query("P(ceasefire broken within 3 months) > 0.5").quantity
    assert _kaplan_meier(v, broken, sample, one)[0] == pytest.approx(7 / 15)
    by_a = parse_query("P(ceasefire broken by A within 3 months) > 0.5").quantity
    assert _kaplan_meier(v, by_a, sample, one)[0] == pytest.approx(1 / 5)
    by_b = parse_query("P(ceasefire broken by B within 3 months) > 0.5").quantity
    assert _kaplan_meier(v, by_b, sample, one)[0] == 0.0
    # beyond the last ceasefire observed the survival is unknown
    late = parse_query("P(ceasefire holds 5 months) > 0.5").quantity
    assert np.isnan(_kaplan_meier(v, late, sample, one)[0])
    assert np.isnan(_estimate(v, sample, one, late)[0])


def test_between_is_judged_on_the_whole_interval() -> None:
    q = parse_query("median casualties of A over horizon between 10 and 20")
    assert _verdict(q, 15, 11, 19) == "supported"
    assert _verdict(q, 15, 5, 25) == "undecided"  # the interval covers the range and more
    assert _verdict(q, 25, 21, 30) == "contradicted" and _verdict(q, 5, 1, 9) == "contradicted"
    assert _verdict(q, 12, 8, 14) == "undecided"


def test_ranges_and_comparisons_at_the_horizon() -> None:
    inf = np.inf
    months = parse_query("median settlement month between 6 and 24")
    assert _verdict(months, inf, inf, inf, horizon=36) == "contradicted"  # past month 35 is above 24
    assert _verdict(months, inf, inf, inf, horizon=12) == "undecided"  # past month 11 may be in range or not
    assert _verdict(months, 10, 8, inf, horizon=36) == "undecided"
    # a difference of two operands: an infinite value decides nothing, and the reason says why
    two = parse_query('median months to take objective "x" > median settlement month')
    assert _verdict(two, inf, inf, inf, horizon=60) == "undecided"
    assert _reason(two, inf, 1.0, inf, 60) is not None and "beyond the horizon" in str(_reason(two, inf, 1, inf, 60))
    assert _reason(two, np.nan, np.nan, np.nan, 60, operands=(inf, inf, inf)) is not None
    # a window past the horizon in either operand leaves the comparison undecided
    wide = parse_query("P(settlement within 36 months) > 2 * P(settlement within 12 months)")
    assert _verdict(wide, 0.5, 0.4, 0.6, horizon=24) == "undecided"
    assert "36 months asked" in str(_reason(wide, 0.5, 0.4, 0.6, 24))


def test_cli_claims(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["claims", str(CERTAIN), "--samples", "3", "--paths", "4", "--json", "-"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert {c["id"]: c["verdict"] for c in doc["claims"]} == EXPECTED
    assert [r["consistent"] for r in doc["inconsistencies"]] == [False, True]
    target = tmp_path / "claims.json"
    table = runner.invoke(
        app,
        ["claims", str(CERTAIN), "--samples", "3", "--paths", "4", "--json", str(target)],
        env={"COLUMNS": "400"},
    )
    assert table.exit_code == 0 and "contradiction" in table.stdout and target.exists()
    assert "without dynamics" in table.stdout and "verdicts are the same with the model's dynamics" in table.stdout
    assert all("by_construction" in c for c in json.loads(target.read_text())["claims"])
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
    from ceasefire.analysis.levers import joined, lever_effects_within

    sc = load_scenario(FLAGSHIP)
    packages = claim_packages(sc)
    # every package the claims name at the scenario's credibility; those with a credibility fixed are not
    assert {"more-military-aid": 2.0, "steady-aid": 1.0} in packages and len(packages) == 7
    study_args = {"batch_samples": 4, "paths": 8, "max_samples": 8, "horizon": 24}
    _, study = lever_effects_within(sc, packages=packages, **study_args)
    given = check_claims(sc, samples=3, paths=4, horizon=24, resamples=100, lever_study=study)
    alone = check_claims(sc, samples=3, paths=4, horizon=24, resamples=100, lever_batch_samples=4, lever_paths=8,
                         lever_max_samples=8)  # fmt: skip
    assert [c.to_dict() for c in given.claims] == [c.to_dict() for c in alone.claims]
    assert (given.sizes["lever_samples"], given.sizes["lever_paths"]) == (study.samples, 8)

    def share(runs: Sequence[RunResult]) -> float:
        """P(settlement on the freeze with guarantees within 24 months), all the batches' paths pooled."""
        together = joined(runs)
        o = together.outcomes
        on = o.first_terms == together.terms.index("freeze-guarantees")
        return float(np.mean((o.first_settlement >= 0) & (o.first_settlement < 24) & on))

    without = share(list(study.runs))
    sanctions = "secondary-oil-sanctions"
    by_id = {c.id: c for c in given.claims}
    # a lever claim's estimate is the change between the study's batches with and without the lever
    assert by_id["secondary-sanctions"].estimate == pytest.approx(share(study.runs_with({sanctions: 1.0})) - without)
    # a credibility the claim fixes is run on the same batches, that credibility in every sample
    threat = study.runs_with({sanctions: 1.0}, credibility={sanctions: 0.1})
    assert all((r.parameters[f"levers.{sanctions}.credibility"] == 0.1).all() for r in threat)
    assert by_id["threats-move-little"].estimate == pytest.approx(share(threat) - without)
    # a comparison of two lever effects: both on the study's samples, the difference of the changes
    certain = share(study.runs_with({sanctions: 1.0}, credibility={sanctions: 1.0})) - without
    compared = by_id["policies-not-threats"]
    assert [o["estimate"] for o in compared.operands] == pytest.approx([certain, share(threat) - without])
    assert compared.estimate == pytest.approx(certain - 2 * (share(threat) - without))
