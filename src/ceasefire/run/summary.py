"""Summary statistics of a run: what `ceasefire run` prints and writes.

Probabilities are pooled over all samples x paths, with the Monte Carlo standard error and
the 5-95% range of the per-sample probabilities (the spread due to the uncertain parameters).
Months are counted from 0 (the scenario's start month); "within m months" means a first
settlement in months 0 .. m-1. Ceasefire survival is the Kaplan-Meier estimate over the
first ceasefires, censored at the horizon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ceasefire.run.experiment import RunResult
from ceasefire.scenario.schema import SIDES

WITHIN = (6, 12, 24, 36)
HOLDS = (12, 24)


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
    levers: dict[str, float]
    version: str
    seconds: float
    settle_within: dict[str, Probability]
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
    ceasefires: int
    sides: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def month_label(self, month: int) -> str:
        """Calendar month of a 0-based month index, e.g. ``2027-01``."""
        start = dt.date.fromisoformat(self.start)
        y, m = divmod(start.month - 1 + month, 12)
        return f"{start.year + y}-{m + 1:02d}"


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
    q = np.quantile(x, [0.5, 0.05, 0.95])
    return Spread(float(q[0]), float(q[1]), float(q[2]))


def survival_at(durations: NDArray[np.int64], broke: NDArray[np.bool_], months: int) -> float | None:
    """Kaplan-Meier probability that a ceasefire lasts more than ``months`` months."""
    if durations.size == 0 or (durations.max() < months and not broke.any()):
        return None
    data = stats.CensoredData(uncensored=durations[broke].astype(float), right=durations[~broke].astype(float))
    sf = stats.ecdf(data).sf
    if (durations >= months).sum() == 0:
        return None  # nobody observed that long: the estimate would be an extrapolation
    return float(sf.evaluate(months))


def summarize(result: RunResult) -> Summary:
    o, spec, sc = result.outcomes, result.spec, result.scenario
    first = o.first_settlement
    settled = first >= 0
    within = {f"{m} months": probability(settled & (first < m), o.sample, spec.samples) for m in WITHIN}
    within["horizon"] = probability(settled, o.sample, spec.samples)
    ordered = np.sort(np.where(settled, first, np.iinfo(np.int64).max))
    half = ordered[(ordered.size - 1) // 2]
    median_month = int(half) if settled.mean() >= 0.5 else None
    area = np.repeat(result.parameters["territory.area_km2"], spec.paths)
    terms = {t: float((o.first_terms == k).mean()) for k, t in enumerate(result.terms)}
    terms["none"] = float((~settled).mean())
    cf = settled
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
        levers=dict(spec.levers),
        version=result.version,
        seconds=result.seconds,
        settle_within=within,
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
        ceasefire_holds={f"{m} months": survival_at(o.ceasefire_months[cf], o.ceasefire_broke[cf], m) for m in HOLDS},
        ceasefires=int(cf.sum()),
        sides={s: f"{sc.sides[s].name} ({sc.leaders[s].name})" for s in SIDES},  # type: ignore[index]
    )
