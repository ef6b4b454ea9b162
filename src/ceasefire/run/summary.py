"""Summary statistics of a run: what `ceasefire run` prints and writes.

Probabilities are pooled over all samples x paths, with the Monte Carlo standard error and
the 5-95% range of the per-sample probabilities (the spread due to the uncertain parameters).
Months are counted from 0 (the scenario's start month); "within m months" means a first
settlement in months 0 .. m-1, reported only for windows the horizon covers (``m <= horizon``).

Ceasefire survival: first ceasefires break down by the background hazard (highest early) or by a
leader's choice to resume; their survival is the Kaplan-Meier estimate from the simulated
ceasefires, censored at the horizon, year by year with the year's monthly breakdown hazard
(breakdowns per ceasefire-month at risk). Who broke them (the background hazard, A's leader, B's)
is reported beside it.

"Collapsed" at a settlement: a side's combat power below :data:`COLLAPSE_POWER` of its start (its
forces), or its reserves spent (its finances), in the month of the first settlement.

The bargaining range (Fearon 1995) of a month is the set of shares of the disputed stake to A
that both leaders prefer to fighting on (:mod:`ceasefire.model.bargaining_range`); per month,
the share of paths at war on which it exists and the median of its bounds there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ceasefire.model.engine import Outcomes
from ceasefire.run.experiment import RunResult
from ceasefire.scenario.schema import SIDES

WITHIN = (6, 12, 24, 36)
HOLDS = {"1 year": 12, "2 years": 24, "5 years": 60}
COLLAPSE_POWER = 0.5
"""A side's forces have collapsed when its combat power is below this share of its start."""


@dataclass(frozen=True)
class Probability:
    """A pooled probability with its Monte Carlo standard error and its spread over samples."""

    p: float
    se: float
    sample_p05: float
    sample_p95: float


@dataclass(frozen=True)
class Spread:
    median: float
    p05: float
    p95: float


@dataclass(frozen=True)
class RangeMonth:
    """The bargaining range in one month: where it exists, and its median bounds there."""

    month: int
    at_war: float  # share of all paths at war in that month
    exists: float  # share of the paths at war on which some share of the stake suits both
    low: float  # median lowest share to A that A accepts, over paths where the range exists
    high: float  # median highest share to A that B accepts
    on_table: float | None  # share of the paths with a range where some terms on the table lie in it (both sign)


@dataclass(frozen=True)
class SurvivalYear:
    """A year of the first ceasefires' lives: the share still holding at its end (Kaplan-Meier) and the
    monthly breakdown hazard within it (breakdowns per ceasefire-month at risk)."""

    year: int
    holds: float | None
    hazard: float | None
    at_risk: int  # first ceasefires that reached the year


@dataclass(frozen=True)
class Collapse:
    """Among the first settlements on some terms, the share where a side's forces or finances had collapsed."""

    forces: float
    finances: float


@dataclass(frozen=True)
class BeliefEffect:
    """How much the leaders' optimism delays a settlement: the same samples and paths decided
    with the scenario's beliefs and with the true model (common random numbers)."""

    settle_within_12_scenario: float
    settle_within_12_true: float
    settle_within_24_scenario: float
    settle_within_24_true: float
    median_month_scenario: int | None
    median_month_true: int | None
    mean_months_at_war_scenario: float  # months at war until the first settlement, within the horizon
    mean_months_at_war_true: float
    delay_months: float  # mean_months_at_war_scenario - mean_months_at_war_true


@dataclass(frozen=True)
class Summary:
    scenario: str
    title: str
    start: str
    horizon: int
    samples: int
    samples_drawn: int
    no_deal_at_start: bool
    paths: int
    seed: int
    policy: str
    beliefs: str
    levers: dict[str, float]
    version: str
    seconds: float
    settle_within: dict[str, Probability]
    settle_by: dict[str, Probability]  # "YYYY-12-31" -> settled by the end of that year (within the horizon)
    median_month: int | None
    median_month_if_settled: float | None
    casualties_to_settlement: dict[str, Spread]
    casualties_horizon: dict[str, Spread]
    held_km2: Spread
    held_share: Spread
    objectives_taken: dict[str, float]
    terms_agreed: dict[str, float]
    removed: dict[str, Probability]
    under_successor: float
    ceasefire_holds: dict[str, float | None]
    ceasefire_survival: list[SurvivalYear]
    ceasefire_broken_by: dict[str, float]
    ceasefires: int
    talks_opened: float  # share of paths where talks opened at least once
    votes_failed: float  # share of paths where a signing failed its vote
    collapse: dict[str, dict[str, Collapse]]  # terms -> side -> shares of first settlements
    sides: dict[str, str]  # "side (leader)", for display
    side_names: dict[str, str]
    leader_names: dict[str, str]
    bargaining_range: list[RangeMonth]
    optimism_effect: BeliefEffect | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def month_label(self, month: int) -> str:
        """Calendar month of a 0-based month index, e.g. ``2027-01``."""
        return str(np.datetime64(self.start, "M") + month)


def probability(hit: NDArray[np.bool_], sample: NDArray[np.int64], samples: int) -> Probability:
    """Pooled probability; its standard error treats each sample's paths as one cluster."""
    p = float(hit.mean())
    per_sample = np.bincount(sample, weights=hit.astype(float), minlength=samples) / np.maximum(
        np.bincount(sample, minlength=samples), 1
    )
    se = float(per_sample.std(ddof=1) / np.sqrt(samples)) if samples > 1 else float(np.sqrt(p * (1 - p) / hit.size))
    return Probability(
        p=p, se=se, sample_p05=float(np.quantile(per_sample, 0.05)), sample_p95=float(np.quantile(per_sample, 0.95))
    )


def spread(x: NDArray[np.float64]) -> Spread:
    if x.size == 0:
        return Spread(float("nan"), float("nan"), float("nan"))
    return Spread(*(float(q) for q in np.quantile(x, [0.5, 0.05, 0.95])))


def year_ends(start: dt.date, horizon: int) -> dict[str, int]:
    """Each 31 December within the horizon, as ``{"YYYY-12-31": months}``: the months from the start to its
    end (a settlement in month ``t < months`` is signed by that day)."""
    return {f"{start.year + i}-12-31": months for i, months in enumerate(range(13 - start.month, horizon + 1, 12))}


def survival_at(durations: NDArray[np.int64], broke: NDArray[np.bool_], months: int) -> float | None:
    """Kaplan-Meier probability that a ceasefire lasts more than ``months`` months.

    ``None`` when none was observed that long and the estimate has not reached 0 (it would be an
    extrapolation); 0 when every ceasefire still at risk broke before ``months``.
    """
    if durations.size == 0 or (durations.max() < months and not broke.any()):
        return None
    data = stats.CensoredData(uncensored=durations[broke].astype(float), right=durations[~broke].astype(float))
    sf = stats.ecdf(data).sf
    if (durations >= months).sum() == 0:
        # nobody observed that long: an extrapolation, unless the last one at risk broke
        return 0.0 if float(sf.evaluate(durations.max())) == 0.0 else None
    return float(sf.evaluate(months))


def survival_counts(
    durations: NDArray[np.int64], broke: NDArray[np.bool_], months: int, group: NDArray[np.int64], groups: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Kaplan-Meier counts of ceasefires in ``groups`` groups (``group`` numbered ``0 .. groups-1``):
    per group and month ``t = 0 .. months``, those at risk (that lasted at least ``t`` months) and
    those that broke after exactly ``t`` months; shapes ``(groups, months + 1)``."""
    d = np.minimum(np.asarray(durations, dtype=np.int64), months + 1)
    lasted = np.zeros((groups, months + 2))
    np.add.at(lasted, (group, d), 1.0)
    at_risk = np.cumsum(lasted[:, ::-1], axis=1)[:, ::-1][:, : months + 1]
    ended = np.zeros((groups, months + 1))
    b = np.asarray(broke, dtype=bool) & (durations <= months)
    np.add.at(ended, (group[b], np.asarray(durations)[b]), 1.0)
    return at_risk, ended


def survival_from_counts(at_risk: NDArray[np.float64], ended: NDArray[np.float64]) -> NDArray[np.float64]:
    """The Kaplan-Meier probability of lasting more than ``months`` months from :func:`survival_counts`
    (the last axis), as :func:`survival_at` gives it: NaN where it gives ``None``."""
    factor = np.where(at_risk > 0, 1.0 - ended / np.maximum(at_risk, 1.0), 1.0)
    s = factor.prod(axis=-1)
    return np.where((at_risk[..., -1] > 0) | (s == 0.0), s, np.nan)  # type: ignore[no-any-return]


def survival_by_year(durations: NDArray[np.int64], broke: NDArray[np.bool_], horizon: int) -> list[SurvivalYear]:
    """Each year a first ceasefire could be observed in: the share holding at its end and its monthly hazard."""
    out = []
    for year in range(1, max(horizon // 12, 1) + 1):
        lo, hi = 12 * (year - 1), 12 * year
        at_risk = durations >= lo
        months = np.clip(durations[at_risk] - lo, 0, 12).sum()
        ended = (broke & (durations >= lo) & (durations < hi)).sum()
        out.append(
            SurvivalYear(
                year=year,
                holds=survival_at(durations, broke, hi),
                hazard=float(ended / months) if months > 0 else None,
                at_risk=int(at_risk.sum()),
            )
        )
    return out


def collapse_at_settlement(o: Outcomes, terms: tuple[str, ...]) -> dict[str, dict[str, Collapse]]:
    """Per terms option, among the first settlements on it: the share where each side's forces had
    collapsed (combat power below :data:`COLLAPSE_POWER`) or its reserves were spent."""
    out: dict[str, dict[str, Collapse]] = {}
    for k, name in enumerate(terms):
        on = o.first_terms == k
        if not on.any():
            continue
        out[name] = {
            s: Collapse(
                forces=float((o.power_at_settlement[s][on] < COLLAPSE_POWER).mean()),
                finances=float((o.reserves_at_settlement[s][on] <= 0.0).mean()),
            )
            for s in SIDES
        }
    return out


def _months_at_war(first: NDArray[np.int64], horizon: int) -> float:
    return float(np.where(first >= 0, first, horizon).mean())


def _median_month(first: NDArray[np.int64]) -> int | None:
    settled = first >= 0
    if settled.mean() < 0.5:
        return None
    ordered = np.sort(np.where(settled, first, np.iinfo(np.int64).max))
    return int(ordered[(ordered.size - 1) // 2])


def belief_effect(scenario_beliefs: RunResult, true_beliefs: RunResult) -> BeliefEffect:
    """Compare two runs of the same spec but for the leaders' beliefs."""
    a, b = scenario_beliefs.outcomes.first_settlement, true_beliefs.outcomes.first_settlement
    horizon = scenario_beliefs.spec.horizon
    # NaN (null in JSON) for a window the horizon does not reach
    within = {
        m: tuple(float(((x >= 0) & (x < m)).mean()) if m <= horizon else float("nan") for x in (a, b)) for m in (12, 24)
    }
    war_a, war_b = _months_at_war(a, horizon), _months_at_war(b, horizon)
    return BeliefEffect(
        settle_within_12_scenario=within[12][0],
        settle_within_12_true=within[12][1],
        settle_within_24_scenario=within[24][0],
        settle_within_24_true=within[24][1],
        median_month_scenario=_median_month(a),
        median_month_true=_median_month(b),
        mean_months_at_war_scenario=war_a,
        mean_months_at_war_true=war_b,
        delay_months=war_a - war_b,
    )


def range_by_month(monthly: dict[str, NDArray[np.float64]], at_war_share: NDArray[np.float64]) -> list[RangeMonth]:
    """Per month where the range exists on some path: its frequency and median bounds.

    The engine records the range on each sample's first :data:`~ceasefire.model.engine.PATH_BLOCK`
    paths (:attr:`~ceasefire.model.engine.Outcomes.monthly_paths`), and ``at_war_share`` is the
    share at war among those paths: the range's frequency is among the paths at war.
    """
    if "range_low" not in monthly:
        return []
    low, high = monthly["range_low"], monthly["range_high"]
    on_table = monthly.get("range_on_table")
    n = low.shape[1]
    rows = []
    for t in range(low.shape[0]):
        ok = ~np.isnan(low[t])
        if not ok.any():
            continue
        at_war = float(at_war_share[t])
        rows.append(
            RangeMonth(
                month=t,
                at_war=at_war,
                exists=float(ok.sum() / max(at_war * n, 1.0)),
                low=float(np.median(low[t][ok])),
                high=float(np.median(high[t][ok])),
                on_table=float(np.nanmean(on_table[t][ok])) if on_table is not None else None,
            )
        )
    return rows


def summarize(result: RunResult) -> Summary:
    o, spec, sc = result.outcomes, result.spec, result.scenario
    first = o.first_settlement
    settled = first >= 0
    # a window longer than the horizon is not decided by the run: left out, not the horizon's value relabelled
    within = {
        f"{m} months": probability(settled & (first < m), o.sample, spec.samples) for m in WITHIN if m <= spec.horizon
    }
    within["horizon"] = probability(settled, o.sample, spec.samples)
    year_end = {
        day: probability(settled & (first < months), o.sample, spec.samples)
        for day, months in year_ends(sc.scenario.start, spec.horizon).items()
    }
    median_month = _median_month(first)
    area = np.repeat(result.parameters["territory.area_km2"], spec.paths)
    terms = {t: float((o.first_terms == k).mean()) for k, t in enumerate(result.terms)}
    terms["none"] = float((~settled).mean())
    durations, broke = o.ceasefire_months[settled], o.ceasefire_broke[settled]  # of the first ceasefires
    holds = {label: survival_at(durations, broke, m) for label, m in HOLDS.items()}
    by = o.ceasefire_broken_by[settled][broke]
    broken_by = {
        who: float((by == code).mean()) if by.size else 0.0 for code, who in enumerate(("background", "A", "B"))
    }
    # the paths at war at the start of each month: from the range's bookkeeping (NaN when at peace)
    at_war_share = _at_war_share(o, spec.horizon)
    return Summary(
        scenario=sc.scenario.id,
        title=sc.scenario.title,
        start=sc.scenario.start.isoformat(),
        horizon=spec.horizon,
        samples=spec.samples,
        samples_drawn=result.samples_drawn,
        no_deal_at_start=sc.scenario.no_deal_at_start,
        paths=spec.paths,
        seed=spec.seed,
        policy=spec.policy,
        beliefs=spec.beliefs,
        levers=dict(spec.levers),
        version=result.version,
        seconds=result.seconds,
        settle_within=within,
        settle_by=year_end,
        median_month=median_month,
        median_month_if_settled=float(np.median(first[settled])) if settled.any() else None,
        casualties_to_settlement={s: spread(o.casualties_to_settlement[s]) for s in SIDES},
        casualties_horizon={s: spread(o.casualties_total[s]) for s in SIDES},
        held_km2=spread(o.held_at_end),
        held_share=spread(o.held_at_end / area),
        objectives_taken={
            obj.id: float((o.objectives_taken[:, j] >= 1.0).mean()) for j, obj in enumerate(sc.objectives)
        },
        terms_agreed=terms,
        removed={s: probability(o.removed[s], o.sample, spec.samples) for s in SIDES},
        under_successor=float(o.under_successor.mean()),
        ceasefire_holds=holds,
        ceasefire_survival=survival_by_year(durations, broke, spec.horizon),
        ceasefire_broken_by=broken_by,
        ceasefires=int(settled.sum()),
        talks_opened=float((o.talks_opened > 0).mean()),
        votes_failed=float((o.votes_failed > 0).mean()),
        collapse=collapse_at_settlement(o, result.terms),
        sides={s: f"{sc.sides[s].name} ({sc.leaders[s].name})" for s in SIDES},  # type: ignore[index]
        side_names={s: sc.sides[s].name for s in SIDES},  # type: ignore[index]
        leader_names={s: sc.leaders[s].name for s in SIDES},  # type: ignore[index]
        bargaining_range=range_by_month(o.monthly, at_war_share),
    )


def _at_war_share(o: Outcomes, horizon: int) -> NDArray[np.float64]:
    """Share of paths at war at the start of each month (at the decision), among the paths whose
    bargaining range is recorded (all of a sample's paths up to :data:`~ceasefire.model.engine.PATH_BLOCK`)."""
    if "at_war_decision" in o.monthly:
        return o.monthly["at_war_decision"].mean(axis=1)  # type: ignore[no-any-return]
    return np.full(horizon, np.nan)
