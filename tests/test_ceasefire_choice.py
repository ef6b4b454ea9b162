"""Ceasefires that leaders choose to break, and the pain that makes them sign (Model 2).

The acceptance criteria checked here:

1. A ceasefire that leaves a leader's aims unmet while peace rebuilds his treasury and both sides'
   forces breaks down within a year on a material share of paths, mostly by his choice; one with
   strong guarantees that meets both sides' aims holds (``tests/data/ceasefire-unmet.toml``,
   ``tests/data/ceasefire-holds.toml``).
2. The flagship's ceasefire survival is not the background hazard's: leaders' choices shorten it.
3. The breakdown hazard of a ceasefire is larger in its first year than in years 3 to 5.
4. Raising the leaders' pain hazard raises the chance of a settlement where the war brings pain and
   peace does not (``tests/data/ceasefire-pain.toml``), and what the peace economy does not change.

Each run is small and seeded; the statistical checks use standard errors of the run's own size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.summary import Summary, summarize
from ceasefire.scenario.load import load_scenario, parse_scenario, read_text
from ceasefire.scenario.schema import Scenario

DATA = Path(__file__).parent / "data"
UNMET = DATA / "ceasefire-unmet.toml"
HOLDS = DATA / "ceasefire-holds.toml"
PAIN = DATA / "ceasefire-pain.toml"
FLAGSHIP = "russia-ukraine-2026"
YEAR = 12


def edited(name: str | Path, *edits: tuple[str, str, int]) -> Scenario:
    """The scenario ``name`` with each ``(old, new, count)`` text edit made: ``old`` must occur ``count``
    times, and every occurrence is replaced."""
    file, text = read_text(str(name))
    for old, new, count in edits:
        assert text.count(old) == count, (old, text.count(old))
        text = text.replace(old, new)
    return parse_scenario(text, file)


def simulate(sc: Scenario, **overrides: object) -> RunResult:
    return run(sc, RunSpec.from_scenario(sc, **overrides))


def first_ceasefires(r: RunResult) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """Each first ceasefire's months held (its breaking month included), whether it broke and who broke it."""
    o = r.outcomes
    cf = o.first_settlement >= 0
    return o.ceasefire_months[cf], o.ceasefire_broke[cf], o.ceasefire_broken_by[cf]


def broken_within(r: RunResult, months: int) -> NDArray[np.bool_]:
    """Per first ceasefire: it broke within its first ``months`` months."""
    held, broke, _ = first_ceasefires(r)
    return broke & (held <= months)


def pooled_hazard(r: RunResult, lo: int, hi: int) -> tuple[float, float]:
    """The monthly breakdown hazard of the first ceasefires in their months ``lo + 1 .. hi`` (breaks over
    months at risk) and its standard error (a Poisson count of breaks)."""
    held, broke, _ = first_ceasefires(r)
    months = float(np.clip(held - lo, 0, hi - lo).sum())
    events = float((broke & (held > lo) & (held <= hi)).sum())
    return events / months, math.sqrt(max(events, 1.0)) / months


# --- 1. a ceasefire that leaves aims unmet breaks by choice; a guaranteed one that meets them holds ----


NO_CHOICE = ("resume_noise = { value = 2,", "resume_noise = { value = 0,", 1)


@pytest.fixture(scope="module")
def unmet() -> tuple[RunResult, Summary]:
    r = simulate(load_scenario(str(UNMET)))
    return r, summarize(r)


@pytest.fixture(scope="module")
def unmet_without_choice() -> RunResult:
    return simulate(edited(UNMET, NO_CHOICE))


def test_unmet_aims_break_the_ceasefire_by_choice_within_a_year(unmet) -> None:  # type: ignore[no-untyped-def]
    """A's leader signs the freeze when his treasury runs dry; once peace has rebuilt it, the war's
    deficit no longer hurts and his unmet aim draws him back: at least a fifth of the first ceasefires
    break within a year, and at least two thirds of all breaks are by a leader's choice."""
    r, s = unmet
    assert s.ceasefires >= 200, s.ceasefires
    early = broken_within(r, YEAR)
    assert early.mean() >= 0.2, early.mean()
    _, broke, by = first_ceasefires(r)
    assert broke.sum() >= 30
    by_choice = (by[broke] > 0).mean()
    assert by_choice >= 2 / 3, s.ceasefire_broken_by
    assert s.ceasefire_broken_by["A"] > s.ceasefire_broken_by["B"], s.ceasefire_broken_by
    assert ((by > 0) & early).mean() >= 0.15


def test_without_the_choice_the_unmet_ceasefire_breaks_at_the_background_rate(  # type: ignore[no-untyped-def]
    unmet, unmet_without_choice
) -> None:
    """The same toy, the same random numbers, with no leader resuming by choice (resume_noise 0): the
    first ceasefires are the same, and the share broken within a year falls to the background's
    (a flat 0.2% a month: 2.4% a year), within three binomial standard errors."""
    r, _ = unmet
    bare = unmet_without_choice
    np.testing.assert_array_equal(bare.outcomes.first_settlement, r.outcomes.first_settlement)
    _, broke, by = first_ceasefires(bare)
    assert (by[broke] == 0).all()
    share = broken_within(bare, YEAR).mean()
    p_bg = 1.0 - (1.0 - 0.002) ** YEAR
    n = broken_within(bare, YEAR).size
    assert abs(share - p_bg) < 3.0 * math.sqrt(p_bg * (1.0 - p_bg) / n) + 1.0 / n, share
    assert broken_within(r, YEAR).mean() > 5.0 * share


def test_a_guaranteed_ceasefire_that_meets_both_aims_holds() -> None:
    """Terms that meet both leaders' (compatible) aims, with strong guarantees and a high cost of breaking
    them: both sign at the start, and at least 90% of the ceasefires hold a year (Kaplan-Meier), none
    broken by a leader's choice over two years.

    Control: the same toy, the same random numbers, with the guarantee cost at 0. What holds the peace is
    the cost of breaking a guaranteed ceasefire (``guarantee_cost`` 60 against a ``resume_noise`` of 2:
    ``sigmoid(-30)`` is nil): without it, A breaks terms that grant his own aim on many paths, and the
    one-year survival falls by more than 0.3. Where his ``resume_cost`` is a few months, resuming and
    signing again is worth within a month or so of the peace, and the noise of the choice does the
    rest; where it is 11-22 months, the breaks come from his rule read in peace at states its imagined
    war did not reach (the front frozen, the reserves rebuilt): clipped regressor by regressor, the
    polynomial's value there can exceed every realised continuation of that month by many months
    (``docs/model.md``, Known limitations). Held to that range, the fall in survival is about 0.2."""
    sc = load_scenario(str(HOLDS))
    r = simulate(sc, horizon=24)
    s = summarize(r)
    assert s.ceasefires == r.spec.samples * r.spec.paths
    holds = s.ceasefire_holds["1 year"]
    assert holds is not None and holds >= 0.9, s.ceasefire_survival
    assert s.ceasefire_broken_by["A"] == 0.0 and s.ceasefire_broken_by["B"] == 0.0, s.ceasefire_broken_by
    no_cost = ("guarantee_cost = { value = 60,", "guarantee_cost = { value = 0,", 1)
    cheap = summarize(simulate(edited(HOLDS, no_cost), horizon=24))
    cheap_holds = cheap.ceasefire_holds["1 year"]
    assert cheap_holds is not None and holds - cheap_holds > 0.3, (holds, cheap_holds)
    assert cheap.ceasefire_broken_by["A"] > 0.5, cheap.ceasefire_broken_by


# --- 2. the flagship's survival is not the background hazard's ---------------------------------------


def background_hazard(r: RunResult, months: int) -> NDArray[np.float64]:
    """``(first ceasefires, months)``: the monthly background breakdown probability of each first ceasefire
    in each of its first ``months`` months, from its sample's parameters (``b_inf + (b_0 - b_inf)
    exp(-u / fragility)``, times the guarantee factor under guarantees and ``record_factor^prior_broken``)."""
    o, p = r.outcomes, r.parameters
    cf = o.first_settlement >= 0
    k = o.sample[cf]
    guaranteed = np.array([t.security_guarantees for t in r.scenario.terms])[o.first_terms[cf]]
    b_inf, b_0 = p["ceasefire.breakdown"][k], p["ceasefire.breakdown_early"][k]
    fade = p["ceasefire.fragility_months"][k]
    factor = np.where(guaranteed, p["ceasefire.guarantee_factor"][k], 1.0)
    factor = factor * p["ceasefire.record_factor"][k] ** r.scenario.ceasefire.prior_broken
    u = np.arange(months)[None, :]
    rate = b_inf[:, None] + (b_0 - b_inf)[:, None] * np.exp(-u / fade[:, None])
    return np.clip(factor[:, None] * rate, 0.0, 1.0)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def flagship() -> RunResult:
    # a settlement is rare in the flagship: 48 samples of 60 paths give about 200 first ceasefires
    sc = load_scenario(FLAGSHIP)
    return simulate(sc, samples=48, paths=60, horizon=60, seed=11)


FLAGSHIP_NO_CHOICE = ('resume_noise = { dist = "uniform", low = 0.5, high = 2,', "resume_noise = { value = 0,", 1)


@pytest.fixture(scope="module")
def flagship_without_choice() -> RunResult:
    sc = edited(FLAGSHIP, FLAGSHIP_NO_CHOICE)
    return simulate(sc, samples=48, paths=60, horizon=60, seed=11)


def survival_against_background(r: RunResult) -> tuple[float, float, float]:
    """The one-year Kaplan-Meier survival of the first ceasefires, the survival the background hazard alone
    gives the same ceasefires (each with its sample's parameters, its terms' guarantees and the record,
    month by month over those still at risk), and the Greenwood standard error of the first."""
    held, broke, _ = first_ceasefires(r)
    h = background_hazard(r, YEAR)
    np.testing.assert_allclose(h[:, 0], r.outcomes.ceasefire_break_rate[r.outcomes.first_settlement >= 0])
    u = np.arange(YEAR)[None, :]
    at_risk = held[:, None] > u
    ended = broke[:, None] & (held[:, None] == u + 1)
    n_u, d_u = at_risk.sum(axis=0), ended.sum(axis=0)
    km = float(np.prod(1.0 - d_u / n_u))
    background = float(np.prod(1.0 - (h * at_risk).sum(axis=0) / n_u))
    se = km * math.sqrt(float(np.sum(d_u / (n_u * (n_u - d_u)))))
    return km, background, se


def test_flagship_survival_is_shorter_than_the_background_hazard_gives(  # type: ignore[no-untyped-def]
    flagship, flagship_without_choice
) -> None:
    """The reported one-year survival of the flagship's first ceasefires against the survival the
    background hazard alone gives the same ceasefires: lower by more than three (Greenwood) standard
    errors, and not mostly by the background. The background's first month is the rate the run recorded.

    Control: the same run with no leader resuming by choice (``resume_noise`` 0): its survival is the
    background's within three standard errors, so the gap is the leaders' choice to resume."""
    r = flagship
    s = summarize(r)
    held, _, _ = first_ceasefires(r)
    assert held.size >= 100, held.size
    km, background, se = survival_against_background(r)
    assert s.ceasefire_holds["1 year"] == pytest.approx(km)
    assert background - km > 3.0 * se, (km, background, se)
    assert s.ceasefire_broken_by["background"] < 0.9, s.ceasefire_broken_by
    bare = flagship_without_choice
    assert first_ceasefires(bare)[0].size >= 100
    km0, background0, se0 = survival_against_background(bare)
    assert abs(background0 - km0) < 3.0 * se0, (km0, background0, se0)
    assert summarize(bare).ceasefire_broken_by["background"] == 1.0


# --- 3. the hazard falls with the ceasefire's age ----------------------------------------------------


def test_the_first_year_is_the_most_dangerous(unmet, unmet_without_choice) -> None:  # type: ignore[no-untyped-def]
    """On the unmet toy (first ceasefires signed in the first years, followed up to five years): the
    monthly breakdown hazard of the first year is larger than that of every later year reported, and
    than that of years 3 to 5 pooled by more than three standard errors (Poisson counts). The background
    is flat here, so the fall is the choice's: the samples whose leader is most eager to resume (a low
    ``resume_cost``, a high policy weight) break early, and those left at risk are the ones that hold.

    Control: with no choice (``resume_noise`` 0) only the flat background is left, and the first year's
    hazard is not larger than that of years 3 to 5 by three standard errors."""
    r, s = unmet
    hazard = {y.year: y.hazard for y in s.ceasefire_survival}
    first = hazard[1]
    assert first is not None
    later = [hazard[y] for y in (3, 4, 5) if hazard.get(y) is not None]
    assert len(later) == 3 and all(first > h for h in later), hazard
    h1, se1 = pooled_hazard(r, 0, YEAR)
    h35, se35 = pooled_hazard(r, 2 * YEAR, 5 * YEAR)
    assert h1 == pytest.approx(first)
    assert h1 - h35 > 3.0 * math.hypot(se1, se35), (h1, h35)
    b1, bse1 = pooled_hazard(unmet_without_choice, 0, YEAR)
    b35, bse35 = pooled_hazard(unmet_without_choice, 2 * YEAR, 5 * YEAR)
    assert b1 - b35 < 3.0 * math.hypot(bse1, bse35), (b1, b35)


# --- 4. pain pushes the leaders to settle --------------------------------------------------------------


PAIN_LOW = ("pain_hazard = { value = 0.5,", "pain_hazard = { value = 0.5,", 2)
PAIN_HIGH = ("pain_hazard = { value = 0.5,", "pain_hazard = { value = 3.0,", 2)
PEACE_KEEPS_SPENDING = (
    ("peace_war_spending = { value = 0.2,", "peace_war_spending = { value = 1.0,", 2),
    ("demobilization_months = { value = 2.0,", "demobilization_months = { value = 0.0,", 2),
)


NO_PAIN = (
    ("exhaustion_pain = { value = 3.0,", "exhaustion_pain = { value = 0.0,", 2),
    ("commodity_volatility = { value = 0.1,", "commodity_volatility = { value = 0.0,", 1),
)


def settled_per_sample(r: RunResult) -> NDArray[np.float64]:
    o = r.outcomes
    return np.bincount(o.sample, weights=o.first_settlement >= 0, minlength=r.spec.samples) / r.spec.paths  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def pain_runs() -> tuple[RunResult, RunResult]:
    return simulate(edited(PAIN, PAIN_LOW)), simulate(edited(PAIN, PAIN_HIGH))


def test_raising_the_pain_hazard_raises_the_chance_of_a_settlement(pain_runs) -> None:  # type: ignore[no-untyped-def]
    """Both leaders' pain hazard raised from 0.5 to 3 on the same samples and random numbers: the chance
    of a settlement within the horizon rises by more than three standard errors of the per-sample
    paired differences.

    Why: the pain hazard multiplies the war's pain (``b_e * pain`` in the log-hazard at war), which grows
    once the reserves run out, while in a leader's value of peace the long-run hazard carries no pain and
    today's excess fades over his transition: peace relieves the pain, so a larger pain hazard makes the
    war dearer than the peace.

    Control: the same toy with no pain at war (no weight on an unfunded deficit, a steady commodity
    price): raising the pain hazard then changes no settlement, path by path."""
    low, high = pain_runs
    a, b = settled_per_sample(low), settled_per_sample(high)
    diff = b - a
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    assert diff.mean() > 3.0 * se, (a.mean(), b.mean(), diff.mean(), se)
    painless_low, painless_high = (simulate(edited(PAIN, e, *NO_PAIN)) for e in (PAIN_LOW, PAIN_HIGH))
    np.testing.assert_array_equal(painless_high.outcomes.first_settlement, painless_low.outcomes.first_settlement)
    assert (painless_low.outcomes.first_settlement >= 0).mean() < 0.9


def test_the_peace_economy_does_not_enter_the_decision_to_sign(pain_runs) -> None:  # type: ignore[no-untyped-def]
    """Peace that keeps the war's spending (peace_war_spending 1, no demobilisation) does not weaken the
    effect of the pain hazard on settling: the first settlements are the same, path by path, at both
    pain hazards.

    Why: a leader's decision to sign reads the war's pain, as his stopping rule foresees it on the war
    he imagines (reserves running out, the unfunded deficit), against the value of peace at the pain
    of the month of the decision, whose excess over the long-run hazard he takes to fade over his
    transition (``shock_months``). The peace economy (``peace_war_spending``, ``demobilization_months``)
    moves the state only after a signing: it changes what a leader in peace weighs when he considers
    resuming, not whether he signs. The relief he counts on is the war's pain left behind, not the
    budget of peace.
    """
    for base, scenario_edit in zip(pain_runs, (PAIN_LOW, PAIN_HIGH), strict=True):
        kept = simulate(edited(PAIN, scenario_edit, *PEACE_KEEPS_SPENDING))
        np.testing.assert_array_equal(kept.outcomes.first_settlement, base.outcomes.first_settlement)
        np.testing.assert_array_equal(kept.outcomes.first_terms, base.outcomes.first_terms)
