"""Back-tests: wars that ended, run through the model and set against how they really ended.

Each historical scenario of the library (``falklands-1982``, ``winter-war-1939``,
``russo-japanese-1904``, ``chaco-1932``) is written as of its start, blind to its end; the real
settlement is recorded here (:data:`HISTORY`), keyed by the scenario's id, with its date, the id
of the ``[[terms]]`` entry that matches what was signed, and the source that dates it.

:func:`backtest` runs a scenario through :func:`ceasefire.run.experiment.run` and reports where
the real settlement month falls in the run's distribution of first-settlement months:

- the real month ``m`` counts whole months of ``DAYS_PER_MONTH`` days from the scenario's start
  to the real settlement (:func:`real_month`), the same clock as the model's months;
- its **percentile** is the mid-rank ``100 * (P(T < m) + P(T = m) / 2)``, with ``T`` a path's first
  settlement month and paths never settled within the horizon counted as later than any month.
  Near 0: the model expects the war to last longer than it did; near 100: it expects it to end
  sooner. If the model were right, real percentiles over many wars would spread evenly over 0-100;
- ``P(settled by m)`` is ``P(T <= m)``, ``P(m ± w)`` is ``P(|T - m| <= w)``;
- the **modal terms** are the most frequent first-settlement terms (``none`` counted as an outcome),
  and the **share on the real terms** is the share of all paths whose first settlement is on the
  terms really signed (and, separately, its share among the paths that settle).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.analysis.frames import spec_fields
from ceasefire.model.attrition import DAYS_PER_MONTH
from ceasefire.run.experiment import RunSpec, run
from ceasefire.scenario.schema import SIDES, Scenario

__all__ = [
    "DEFAULT_PATHS",
    "DEFAULT_SAMPLES",
    "DEFAULT_WINDOW",
    "HISTORY",
    "Backtest",
    "History",
    "backtest",
    "history_of",
    "real_month",
    "sample_percentiles",
    "settlement_percentile",
    "terms_shares",
]

DEFAULT_SAMPLES = 40
DEFAULT_PATHS = 100
DEFAULT_WINDOW = 2
"""Months either side of the real settlement month for ``P(m ± w)``."""
NONE = "none"


@dataclass(frozen=True)
class History:
    """How a war of the library really ended."""

    scenario: str  # the scenario's id
    war: str  # a readable name
    ended: dt.date  # the settlement: the date it was signed, or the ceasefire came into force
    terms: str  # the id of the scenario's [[terms]] entry that matches what was signed
    how: str  # how the war ended, in a few words
    source: str  # a key of the scenario's [sources] that dates the settlement and gives its terms
    successor_signed: tuple[str, ...] = ()  # the sides whose signatory had succeeded the war's first leader
    note: str = ""


HISTORY: dict[str, History] = {
    h.scenario: h
    for h in (
        History(
            scenario="falklands-1982",
            war="Falklands War",
            ended=dt.date(1982, 6, 14),
            terms="surrender",
            how="military defeat: the Argentine garrison surrendered at Stanley; Galtieri fell three days later",
            source="freedman-2005",
            note="no treaty: Argentina never formally ended hostilities; the surrender ended the fighting",
        ),
        History(
            scenario="winter-war-1939",
            war="Winter War",
            ended=dt.date(1940, 3, 13),
            terms="moscow-peace",
            how="cession under military pressure: the Moscow Peace, signed late on 12 March (Moscow time)",
            source="jakobson-1961",
            note="the fighting stopped at noon on 13 March",
        ),
        History(
            scenario="russo-japanese-1904",
            war="Russo-Japanese War",
            ended=dt.date(1905, 9, 5),
            terms="portsmouth",
            how="mediated compromise: the Treaty of Portsmouth, after the US President's good offices",
            source="esthus-1988",
            note="an armistice was agreed on 1 September; both dates fall in the same model month",
        ),
        History(
            scenario="chaco-1932",
            war="Chaco War",
            ended=dt.date(1935, 6, 12),
            terms="buenos-aires-protocol",
            how="exhaustion: a ceasefire on the lines held, mediated by neighbours, signed by Bolivia's successor",
            source="farcau-1996",
            successor_signed=("B",),
            note="signed on 12 June, the fighting stopped on 14 June; the boundary treaty followed in 1938",
        ),
    )
}


def history_of(scenario: Scenario) -> History:
    """The real outcome recorded for ``scenario``; a ``ValueError`` naming those known if there is none."""
    found = HISTORY.get(scenario.scenario.id)
    if found is None:
        raise ValueError(
            f"no real outcome is recorded for scenario '{scenario.scenario.id}' (back-tests: {', '.join(HISTORY)})"
        )
    return found


def real_month(start: dt.date, ended: dt.date) -> int:
    """The model month in which ``ended`` falls: whole months of ``DAYS_PER_MONTH`` days since ``start``."""
    days = (ended - start).days
    if days < 0:
        raise ValueError(f"the war ended ({ended}) before the scenario starts ({start})")
    return math.floor(days / DAYS_PER_MONTH)


def settlement_percentile(first: NDArray[np.int64], month: int) -> tuple[float, float]:
    """``(P(T < month), P(T = month))`` over paths whose first settlement month is ``first``
    (``-1``: never settled within the horizon, counted as later than any month)."""
    first = np.asarray(first)
    if first.size == 0:
        raise ValueError("no paths")
    settled = first >= 0
    before = float(np.mean(settled & (first < month)))
    at = float(np.mean(settled & (first == month)))
    return before, at


def sample_percentiles(first: NDArray[np.int64], sample: NDArray[np.int64], month: int) -> NDArray[np.float64]:
    """The mid-rank percentile of ``month`` within each parameter sample's paths (``sample``: each
    path's sample, numbered from 0)."""
    first, sample = np.asarray(first), np.asarray(sample)
    settled = first >= 0
    count = np.bincount(sample)
    before = np.bincount(sample, weights=settled & (first < month), minlength=count.size)
    at = np.bincount(sample, weights=settled & (first == month), minlength=count.size)
    return np.asarray(100.0 * (before + at / 2) / np.maximum(count, 1), dtype=np.float64)


def terms_shares(first_terms: NDArray[np.int64], terms: Sequence[str]) -> dict[str, float]:
    """The share of all paths whose first settlement is on each terms option, and ``none``."""
    first_terms = np.asarray(first_terms)
    counts = np.bincount(first_terms + 1, minlength=len(terms) + 1) / first_terms.size
    return {NONE: float(counts[0]), **{t: float(counts[k + 1]) for k, t in enumerate(terms)}}


def _modal(shares: dict[str, float]) -> str:
    return max(shares, key=lambda k: (shares[k], k == NONE))  # ties: 'none' first, then file order


@dataclass(frozen=True)
class Backtest:
    """A scenario's run set against the war's real end."""

    scenario: str
    title: str
    war: str
    start: str
    ended: str
    real_month: int
    real_terms: str
    how: str
    source: str
    samples: int
    paths: int
    seed: int
    horizon: int
    window: int
    percentile: float  # mid-rank, 0-100
    percentile_se: float | None  # Monte Carlo s.e., each parameter sample's paths one cluster (None: 1 sample)
    percentile_samples: tuple[float, float]  # 5% and 95% quantiles of the per-sample percentiles
    p_before: float  # P(T < m)
    p_by: float  # P(T <= m)
    p_window: float  # P(|T - m| <= window)
    p_settled: float  # P(T < horizon)
    median_month: int | None  # None: fewer than half the paths settle
    terms: dict[str, float]  # share of all paths per first-settlement terms, 'none' included
    modal_terms: str
    modal_terms_if_settled: str | None
    share_real_terms: float  # of all paths
    share_real_terms_if_settled: float | None
    under_successor: float  # share of all paths whose first settlement a successor signed
    successor_signed: tuple[str, ...]  # the real signatories who were successors (by side)
    under_successor_of: dict[str, float]  # per side: share of all paths settled after its incumbent fell
    samples_drawn: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backtest(
    scenario: Scenario,
    samples: int = DEFAULT_SAMPLES,
    paths: int = DEFAULT_PATHS,
    seed: int | None = None,
    window: int = DEFAULT_WINDOW,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Backtest:
    """Run ``scenario`` (its own seed unless ``seed`` is given) and set it against its recorded end."""
    if window < 0:
        raise ValueError(f"window must be a non-negative number of months, got {window}")
    history = history_of(scenario)
    meta = scenario.scenario
    month = real_month(meta.start, history.ended)
    if month >= meta.horizon:
        raise ValueError(
            f"scenario '{meta.id}': its horizon ({meta.horizon} months) ends before the real settlement (month {month})"
        )
    terms = [t.id for t in scenario.terms]
    if history.terms not in terms:
        raise ValueError(f"scenario '{meta.id}' has no terms '{history.terms}' (terms: {', '.join(terms)})")
    start = time.perf_counter()
    spec = RunSpec.from_scenario(
        scenario, samples=samples, paths=paths, seed=seed, bargaining_range=False, workers=workers
    )
    result = run(scenario, spec, progress=progress)
    o = result.outcomes
    first = o.first_settlement
    before, at = settlement_percentile(first, month)
    per_sample = sample_percentiles(first, o.sample, month)
    se = float(per_sample.std(ddof=1) / np.sqrt(per_sample.size)) if per_sample.size > 1 else None
    settled = first >= 0
    shares = terms_shares(o.first_terms, result.terms)
    real = shares[history.terms]
    p_settled = float(settled.mean())
    in_settled = {k: v / p_settled for k, v in shares.items() if k != NONE} if p_settled > 0 else None
    ordered = np.sort(np.where(settled, first, np.iinfo(np.int64).max))
    median = int(ordered[(ordered.size - 1) // 2]) if p_settled >= 0.5 else None
    return Backtest(
        scenario=meta.id,
        title=meta.title,
        war=history.war,
        start=meta.start.isoformat(),
        ended=history.ended.isoformat(),
        real_month=month,
        real_terms=history.terms,
        how=history.how,
        source=history.source,
        **spec_fields(spec, "samples", "paths", "seed", "horizon"),
        window=window,
        percentile=100.0 * (before + at / 2),
        percentile_se=se,
        percentile_samples=(float(np.quantile(per_sample, 0.05)), float(np.quantile(per_sample, 0.95))),
        p_before=before,
        p_by=before + at,
        p_window=float(np.mean(settled & (np.abs(first - month) <= window))),
        p_settled=p_settled,
        median_month=median,
        terms=shares,
        modal_terms=_modal(shares),
        modal_terms_if_settled=_modal(in_settled) if in_settled else None,
        share_real_terms=real,
        share_real_terms_if_settled=real / p_settled if p_settled > 0 else None,
        under_successor=float(np.mean(o.under_successor & settled)),
        successor_signed=history.successor_signed,
        under_successor_of={
            side: float(np.mean(settled & o.removed[side] & (o.removal_month[side] < first))) for side in SIDES
        },
        samples_drawn=result.samples_drawn,
        seconds=time.perf_counter() - start,
    )
