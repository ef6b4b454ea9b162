"""A run's outcomes as small curves and bands for the figures: per-path arrays in, JSON-friendly dicts out.

These are the statistics the report and the dashboard plot; they run nothing and import no
plotting library. Months are counted from 0, the scenario's start month; "settled within m
months" means a first settlement in months 0 .. m-1, as in :mod:`ceasefire.run.summary`.

The leaders' gaps follow one sign convention everywhere (the report's "why", the course, the
dashboard): **the gap is the leader's value of fighting on minus his value of a named deal**, in
months of office; above 0 he fights on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "MIN_PATHS_AT_WAR",
    "QUANTILES",
    "REFERENCE_BEST",
    "REFERENCE_WITHIN_REACH",
    "ceasefire_survival",
    "course_bands",
    "gap_bands",
    "office_hazard",
    "reference_gain",
    "settlement_curves",
]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MIN_PATHS_AT_WAR = 5
"""A month's gap quantiles need at least this many paths still at war (else ``None``)."""
REFERENCE_WITHIN_REACH = "the deal within reach (his best terms among those the other leader would sign)"
REFERENCE_BEST = "his best terms on the table"

Stats = dict[str, Any]


def _bands(per_unit: NDArray[np.float64]) -> dict[str, list[float]]:
    """Quantiles :data:`QUANTILES` over the last axis, as lists named ``p05`` .. ``p95``."""
    q = np.quantile(per_unit, QUANTILES, axis=-1)
    return {f"p{round(100 * a):02d}": q[i].tolist() for i, a in enumerate(QUANTILES)}


def settlement_curves(
    first_settlement: NDArray[np.int64], sample: NDArray[np.int64], samples: int, horizon: int
) -> Stats:
    """Probability of a first settlement within ``m`` months, ``m = 0 .. horizon``.

    Parameters
    ----------
    first_settlement
        Per path, the month of the first settlement (``-1``: none within the horizon).
    sample
        Per path, its outer (parameter) sample, ``0 .. samples-1``.

    Returns
    -------
    dict
        ``months``; ``pooled``: the share of all paths settled within each month count;
        ``p05`` .. ``p95``: quantiles over the parameter samples of each sample's own curve (the
        spread due to the uncertain parameters); ``samples``, ``paths`` (per sample).
    """
    first = np.asarray(first_settlement)
    sample = np.asarray(sample)
    if first.shape != sample.shape or first.size == 0:
        raise ValueError("first_settlement and sample must be non-empty arrays of the same shape")
    settled = (first >= 0) & (first < horizon)
    counts = np.zeros((samples, horizon + 1))
    np.add.at(counts, (sample[settled], first[settled] + 1), 1.0)
    per_sample = np.bincount(sample, minlength=samples).astype(float)
    curves = np.cumsum(counts, axis=1) / np.maximum(per_sample, 1.0)[:, None]  # (samples, months)
    pooled = np.cumsum(counts.sum(axis=0)) / first.size
    return {
        "months": list(range(horizon + 1)),
        "pooled": pooled.tolist(),
        **_bands(curves.T),
        "samples": samples,
        "paths": int(first.size // max(samples, 1)),
    }


def ceasefire_survival(
    break_rate: NDArray[np.float64], months_held: NDArray[np.int64], broke: NDArray[np.bool_], months: int
) -> Stats:
    """How long a first ceasefire holds: the model's survival curve and the Kaplan-Meier check.

    Parameters
    ----------
    break_rate
        Per first ceasefire, its constant monthly breakdown probability ``b``.
    months_held, broke
        Per first ceasefire, months it held in the simulation and whether it broke (else it was
        censored at the horizon).
    months
        Length of the curve, months after signing.

    Returns
    -------
    dict
        ``months``; ``model``: ``mean((1 - b)^m)`` over the ceasefires (exact, any ``m``);
        ``km``: the Kaplan-Meier estimate up to the longest observed duration (``None`` beyond);
        ``ceasefires``: how many there were. Empty curves when there were none.
    """
    rate = np.asarray(break_rate, dtype=float)
    m = np.arange(months + 1)
    if rate.size == 0:
        return {"months": m.tolist(), "model": [], "km": [], "ceasefires": 0}
    model = np.mean((1.0 - rate[None, :]) ** m[:, None], axis=1)
    held = np.asarray(months_held, dtype=float)
    broke = np.asarray(broke, dtype=bool)
    data = stats.CensoredData(uncensored=held[broke], right=held[~broke])
    sf = stats.ecdf(data).sf if broke.any() else None
    longest = held.max()
    km = [None if k > longest else 1.0 if sf is None else float(sf.evaluate(float(k))) for k in m]
    return {"months": m.tolist(), "model": model.tolist(), "km": km, "ceasefires": int(rate.size)}


def course_bands(trajectory: NDArray[np.float64]) -> Stats:
    """Median and bands over paths of a monthly trajectory ``(months + 1, paths)``."""
    x = np.asarray(trajectory, dtype=float)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected a (months, paths) array, got shape {x.shape}")
    return {"months": list(range(x.shape[0])), **_bands(x), "mean": x.mean(axis=1).tolist()}


def office_hazard(removal_month: NDArray[np.int64], horizon: int) -> Stats:
    """Monthly hazard that the incumbent leader loses office, estimated from the simulated paths.

    ``h_t`` = incumbents removed in month ``t`` / incumbents still in office at its start; a
    life-table estimate over all paths (at war or at peace, successors not counted).

    Parameters
    ----------
    removal_month
        Per path, the month the incumbent lost office, ``-1`` if he did not within the horizon.
    """
    rm = np.asarray(removal_month)
    removed = rm >= 0
    events = np.bincount(rm[removed], minlength=horizon)[:horizon].astype(float)
    left_before = np.concatenate([[0.0], np.cumsum(events)[:-1]])
    at_risk = rm.size - left_before
    hazard = np.divide(events, at_risk, out=np.full(horizon, np.nan), where=at_risk > 0)
    return {"months": list(range(horizon)), "hazard": hazard.tolist(), "at_risk": at_risk.tolist()}


def _stack(gains: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Per terms option ``(months, paths)`` arrays as one ``(months, paths, terms)`` array, NaN as -inf."""
    stacked = np.stack([np.asarray(v, dtype=float) for v in gains.values()], axis=-1)
    return np.where(np.isnan(stacked), -np.inf, stacked)


def reference_gain(
    gains: Mapping[str, NDArray[np.float64]], other_gains: Mapping[str, NDArray[np.float64]] | None = None
) -> NDArray[np.float64]:
    """A leader's gain from settling now on the reference deal over fighting on, ``(months, paths)``.

    Without ``other_gains``: his best terms on the table. With them (the other leader's gains,
    the same terms in the same order): the deal within reach, chosen per path and month as in
    :func:`ceasefire.analysis.explain.explain` -- his best terms among those the other leader
    would sign (his gain at least 0), or, where the other signs none, the terms the other refuses
    least. ``-inf`` where no terms are on the table.
    """
    mine = _stack(gains)
    if other_gains is None:
        return np.asarray(mine.max(axis=-1), dtype=float)
    if len(other_gains) != len(gains):
        raise ValueError(
            f"the two leaders' gains must cover the same terms options, got {len(gains)} and {len(other_gains)}"
        )
    theirs = _stack(other_gains)
    signs = (theirs >= 0) & np.isfinite(mine)
    within = np.where(signs, mine, -np.inf).max(axis=-1)
    least_refused = np.take_along_axis(mine, theirs.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    return np.asarray(np.where(signs.any(axis=-1), within, least_refused), dtype=float)


def gap_bands(
    gains: Mapping[str, NDArray[np.float64]],
    at_war: NDArray[np.float64],
    other_gains: Mapping[str, NDArray[np.float64]] | None = None,
) -> Stats:
    """Each month, a leader's gap: his value of fighting on minus his value of the reference deal.

    Parameters
    ----------
    gains
        Per terms option, the leader's gain from settling on it now over fighting on, ``(months, paths)``
        in months of office (NaN where the path is not at war at the decision).
    at_war
        ``(months + 1, paths)``, 1 where at war at the start of a month; only paths at war count.
    other_gains
        The other leader's gains, same keys: the reference is then the deal within reach
        (:func:`reference_gain`); without them, his best terms on the table.

    Returns
    -------
    dict
        ``months``; quantiles ``p05`` .. ``p95`` over the paths at war of the gap (above 0: he
        fights on), ``None`` in months with fewer than :data:`MIN_PATHS_AT_WAR` paths at war;
        ``reference``: the deal the gap is to, in words.
    """
    gap = -reference_gain(gains, other_gains)
    months = gap.shape[0]
    war = np.asarray(at_war, dtype=float)[:months] > 0.5
    out: dict[str, list[float | None]] = {f"p{round(100 * a):02d}": [] for a in QUANTILES}
    for t in range(months):
        v = gap[t][war[t] & np.isfinite(gap[t])]
        for a in QUANTILES:
            out[f"p{round(100 * a):02d}"].append(float(np.quantile(v, a)) if v.size >= MIN_PATHS_AT_WAR else None)
    reference = REFERENCE_BEST if other_gains is None else REFERENCE_WITHIN_REACH
    return {"months": list(range(months)), **out, "reference": reference}
