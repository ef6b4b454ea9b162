"""A run's paths as a tidy table and as labelled arrays, for notebooks.

:func:`paths_frame` gives a pandas DataFrame with one row per simulated path and
:func:`paths_dataset` an xarray Dataset with dimensions ``sample`` × ``path`` (× ``month``). Both
are built from the public fields of :class:`~ceasefire.run.experiment.RunResult` and its
``outcomes``. What did not happen is missing (pandas ``<NA>``, or NaN in the Dataset), never the
engine's ``-1``: the month of a settlement that never came is not a number, so a median or a mean
over the column counts only the paths that settled, and ``.isna()`` finds the others.

pandas and xarray are imported when called, so ``import ceasefire`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.run.experiment import RunResult
from ceasefire.scenario.schema import SIDES

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["MONTH_COLUMNS", "paths_dataset", "paths_frame"]

MONTH_COLUMNS = ("first_settlement_month", *(f"removal_month_{s}" for s in SIDES))
"""Per-path months that the engine codes ``-1`` when the event never happened (within the horizon)."""


def _month_or_missing(months: NDArray[np.int64]) -> NDArray[np.float64]:
    """Months as floats with NaN where the engine wrote -1 (the event did not happen)."""
    return np.where(months >= 0, months, np.nan)


def _grid(result: RunResult) -> tuple[int, int]:
    """``(samples, paths)``, checked against the outcomes' layout (sample by sample, paths in order)."""
    s, p = result.spec.samples, result.spec.paths
    sample = result.outcomes.sample
    if sample.size != s * p or not np.array_equal(sample, np.repeat(np.arange(s), p)):
        raise ValueError(f"the outcomes are not {s} samples × {p} paths in sample order; was the run cut or reordered?")
    return s, p


def _per_path(result: RunResult) -> dict[str, NDArray[Any]]:
    """Every per-path outcome under its column name, months missing as NaN, terms as ids or None."""
    o = result.outcomes
    names = np.array([*result.terms, None], dtype=object)
    settled = o.first_settlement >= 0
    cols: dict[str, NDArray[Any]] = {
        "first_settlement_month": _month_or_missing(o.first_settlement),
        "settled": settled,
        "terms": names[np.where(o.first_terms >= 0, o.first_terms, len(result.terms))],
        "under_successor": np.asarray(o.under_successor, dtype=bool),
        "held_km2_at_end": np.asarray(o.held_at_end, dtype=float),
        "at_war_at_horizon": np.asarray(o.at_war_at_end, dtype=bool),
        "ceasefire_months": np.where(settled, o.ceasefire_months, np.nan),
        "ceasefire_broke": np.asarray(o.ceasefire_broke, dtype=bool),
        "ceasefire_monthly_breakdown": np.asarray(o.ceasefire_break_rate, dtype=float),
        "settlements": np.asarray(o.settlements),
        "breakdowns": np.asarray(o.breakdowns),
    }
    for s in SIDES:
        cols[f"casualties_{s}_to_settlement"] = np.asarray(o.casualties_to_settlement[s], dtype=float)
        cols[f"casualties_{s}_horizon"] = np.asarray(o.casualties_total[s], dtype=float)
        cols[f"removed_{s}"] = np.asarray(o.removed[s], dtype=bool)
        cols[f"removal_month_{s}"] = _month_or_missing(o.removal_month[s])
    for j, obj in enumerate(result.scenario.objectives):
        cols[f"objective_{obj.id}"] = np.asarray(o.objectives_taken[:, j], dtype=float)
    return cols


def _attrs(result: RunResult) -> dict[str, Any]:
    """What the numbers were made from: the scenario, seed, sizes, policy, beliefs and levers."""
    spec = result.spec
    return {
        "scenario": result.scenario.scenario.id,
        "start": result.scenario.scenario.start.isoformat(),
        **{k: getattr(spec, k) for k in ("seed", "samples", "paths", "horizon", "policy", "beliefs")},
        "levers": dict(spec.levers),
        "version": result.version,
    }


def paths_frame(result: RunResult) -> pd.DataFrame:
    """One row per simulated path: its sample, its outcomes, missing values as ``<NA>``.

    Columns: ``sample`` and ``path`` (0-based), ``first_settlement_month`` (month of the first
    settlement counted from the scenario's start, month 0; ``<NA>`` when the war went on to the
    horizon), ``settled``, ``terms`` (the id of the terms signed, ``<NA>`` when none),
    ``under_successor``, ``held_km2_at_end`` (km² held by A at the first settlement, else at the
    horizon), ``at_war_at_horizon``, ``ceasefire_months`` (months the first ceasefire held, to its
    breakdown or the horizon; ``<NA>`` without one), ``ceasefire_broke``,
    ``ceasefire_monthly_breakdown`` (its monthly breakdown probability), ``settlements``,
    ``breakdowns``, per side ``casualties_{A,B}_to_settlement`` and ``_horizon`` (persons),
    ``removed_{A,B}`` and ``removal_month_{A,B}`` (``<NA>`` when he kept office), and per objective
    ``objective_{id}`` (share of its area taken). ``frame.attrs`` holds the run's scenario, seed,
    sizes, policy, beliefs and levers.

    >>> frame = paths_frame(result)                                          # doctest: +SKIP
    >>> frame["first_settlement_month"].median()   # over the paths that settled   # doctest: +SKIP
    >>> (frame["first_settlement_month"] < 12).mean()   # P(settlement within 12 months)  # doctest: +SKIP
    """
    import pandas as pd

    s, p = _grid(result)
    cols = _per_path(result)
    frame = pd.DataFrame({"sample": np.repeat(np.arange(s), p), "path": np.tile(np.arange(p), s)})
    missing: dict[str, Any] = {"terms": "string", **dict.fromkeys((*MONTH_COLUMNS, "ceasefire_months"), "Int64")}
    for name, values in cols.items():
        frame[name] = pd.array(values, dtype=missing[name]) if name in missing else values  # NaN: <NA>
    frame.attrs.update(_attrs(result))
    return frame


def paths_dataset(result: RunResult) -> xr.Dataset:
    """The run as labelled arrays: dimensions ``sample``, ``path`` and ``month``.

    Variables over ``(sample, path)``: the columns of :func:`paths_frame` (months as floats, NaN
    where the event did not happen; ``terms`` an id or None). Over ``(sample, path, month)``:
    ``settled_within`` (the first settlement came in months ``0 .. month - 1``; its mean over
    samples and paths at ``month = 12`` is P(settlement within 12 months)) and, when the run was
    made with ``record=True``, every recorded trajectory (``held_km2``, ``casualties_A``,
    ``at_war``, ``reserves_A`` ...: the state after ``month`` months). Over ``(sample, parameter)``:
    ``parameters``, each sample's value of every parameter (dotted paths as labels). Coordinates:
    ``month`` 0 .. horizon and ``date``, its first calendar day. ``ds.attrs`` as
    :func:`paths_frame`'s, levers as ``lever:ID`` entries.
    """
    import xarray as xr

    s, p = _grid(result)
    horizon = result.spec.horizon
    months = np.arange(horizon + 1)
    data: dict[str, tuple[tuple[str, ...], NDArray[Any]]] = {
        name: (("sample", "path"), values.reshape(s, p)) for name, values in _per_path(result).items()
    }
    first = result.outcomes.first_settlement.reshape(s, p, 1)
    data["settled_within"] = (("sample", "path", "month"), (first >= 0) & (first < months))
    for name, values in result.outcomes.trajectories.items():
        if values.shape[0] == horizon + 1:  # (months + 1, paths): the state after each month
            data[name] = (("sample", "path", "month"), np.asarray(values, dtype=float).T.reshape(s, p, horizon + 1))
    names = list(result.parameters)
    data["parameters"] = (("sample", "parameter"), np.column_stack([result.parameters[k] for k in names]))
    attrs = _attrs(result)
    levers = attrs.pop("levers")
    attrs.update({f"lever:{k}": float(v) for k, v in levers.items()})
    return xr.Dataset(
        data,
        coords={
            "sample": np.arange(s),
            "path": np.arange(p),
            "month": months,
            "date": ("month", (np.datetime64(result.scenario.scenario.start, "M") + months).astype("datetime64[D]")),
            "parameter": names,
        },
        attrs=attrs,
    )
