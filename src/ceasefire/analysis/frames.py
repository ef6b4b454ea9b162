"""Every analysis result as a tidy pandas DataFrame: one row per lever setting, claim, factor...

:func:`to_frame` turns a result of :mod:`ceasefire.analysis` (lever effects, a lever grid, the
price of peace, claims, an explanation, sensitivity indices, scenario discovery) into a table a
notebook can sort, filter and plot; each result's ``.to_frame()`` calls it. Which converter serves
which result is registered in :data:`CONVERTERS` by class name, so this module imports no analysis
(nor pandas) until it is called. A number that is not defined (a change beyond the horizon, an
interval that could not be computed) is NaN, never a sentinel; ``frame.attrs`` keeps the sizes,
seed and the result's other scalars.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ceasefire.run.jsonsafe import json_safe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONVERTERS", "Tabular", "spec_fields", "to_frame"]


class Tabular:
    """What every analysis result has beside its fields: ``.to_frame()``, itself as a tidy table, and
    ``.to_dict()``, itself as JSON-safe Python."""

    __slots__ = ()

    def to_frame(self) -> pd.DataFrame:
        """As a tidy pandas DataFrame (:func:`to_frame`)."""
        return to_frame(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and infinities become ``None`` (:func:`ceasefire.run.jsonsafe.json_safe`)."""
        return json_safe(dataclasses.asdict(self))  # type: ignore[call-overload, no-any-return]


def spec_fields(spec: Any, *names: str) -> dict[str, Any]:
    """The settings ``names`` of a run's or a sweep's spec, or of options (sizes, seed, horizon...), by
    name: what a result states of the runs it was computed on, or what an analysis passes on to the next."""
    return {name: getattr(spec, name) for name in names}


def _scalars(result: Any) -> dict[str, Any]:
    """The result's fields that are plain numbers, strings or flags, for ``frame.attrs``."""
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    out = {k: v for k, v in values.items() if v is None or isinstance(v, int | float | str | bool)}
    sizes = getattr(result, "sizes", None)
    if isinstance(sizes, dict):
        out.update(sizes)
    return out


def _frame(rows: list[dict[str, Any]], attrs: dict[str, Any], columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    for name in frame.columns:
        if pd.api.types.is_object_dtype(frame[name]) and frame[name].isna().all():
            # a number not computed on any row (e.g. the certain twin): NaN, not None
            frame[name] = frame[name].astype(float)
    frame.attrs.update(attrs)
    return frame


def lever_effects_frame(result: Any) -> pd.DataFrame:
    """``LeverEffects``: one row per lever and intensity (the changes, their standard errors, cost)."""
    rows = [dataclasses.asdict(r) for r in result.rows]
    attrs = _scalars(result) | {f"baseline_{k}": e.value for k, e in result.baseline.items()}
    attrs |= {f"baseline_{k}_se": e.se for k, e in result.baseline.items()}
    columns = [f.name for f in dataclasses.fields(result.rows[0])] if result.rows else None
    return _frame(rows, attrs, columns)


def lever_grid_frame(result: Any) -> pd.DataFrame:
    """``LeverGrid``: one row per pair of intensities of its two levers."""
    rows = []
    for i, x in enumerate(result.intensities_a):
        for j, y in enumerate(result.intensities_b):
            row: dict[str, Any] = {"lever_a": result.a, "intensity_a": x, "lever_b": result.b, "intensity_b": y}
            for name in ("p12", "p12_se", "d_p12", "d_p12_se", "p24", "p24_se", "d_p24", "d_p24_se", "cost"):
                row[name] = getattr(result, name)[i][j]
            rows.append(row)
    return _frame(rows, _scalars(result))


def price_frame(result: Any) -> pd.DataFrame:
    """``PriceOfPeace``: one row per lever considered or left out, with its intensity in the package.

    ``frame.attrs`` has the verdict, the package's cost and its probability (``probability``,
    ``probability_se``) against no lever (``baseline``, ``baseline_se``).
    """
    rows = [
        {"lever": lv, "intensity": float(result.package.get(lv, 0.0)), "searched": lv not in result.dropped}
        for lv in (*result.levers, *(d for d in result.dropped if d not in result.levers))
    ]
    attrs = _scalars(result)
    for name in ("probability", "baseline", "at_max"):
        estimate = getattr(result, name)
        attrs[name] = None if estimate is None else estimate.value
        attrs[f"{name}_se"] = None if estimate is None else estimate.se
    return _frame(rows, attrs, ["lever", "intensity", "searched"])


def claims_frame(result: Any) -> pd.DataFrame:
    """``ClaimsReport``: one row per claim, its estimate, 95% interval and verdict."""
    rows = [dataclasses.asdict(c) for c in result.claims]
    attrs = _scalars(result) | {"inconsistencies": [c.to_dict() for c in result.inconsistencies]}
    return _frame(rows, attrs)


def explanation_frame(result: Any) -> pd.DataFrame:
    """``Explanation``: one row per factor, its Shapley value and share, largest first as computed.

    ``frame.attrs`` has the leader, month, his values (``fight_value``, ``best_value``), the gap and
    ``neutral_gap``: ``gap = neutral_gap + frame["shapley"].sum()`` to rounding.
    """
    rows = [dataclasses.asdict(f) for f in result.factors]
    attrs = _scalars(result) | {"terms": dict(result.terms)}
    return _frame(rows, attrs)


def sensitivity_frame(result: Any) -> pd.DataFrame:
    """``SensitivityResult``: one row per parameter (or group), ranked, with its indices."""
    return _frame([dict(r) for r in result.rows], _scalars(result))


def discovery_frame(result: Any) -> pd.DataFrame:
    """``Discovery``: one row per restricted parameter of each box (``box`` counts from 1)."""
    rows = []
    for k, box in enumerate(result.boxes, 1):
        head = {"box": k, "coverage": box.coverage, "density": box.density, "mass": box.mass,
                "cases": box.cases, "points": box.points}  # fmt: skip
        rows += [head | dataclasses.asdict(limit) for limit in box.limits]
    columns = ["box", "coverage", "density", "mass", "cases", "points", "parameter", "source", "low", "high",
               "sampled_low", "sampled_high", "qp"]  # fmt: skip
    return _frame(rows, _scalars(result), columns)


CONVERTERS: dict[str, Callable[[Any], pd.DataFrame]] = {
    "LeverEffects": lever_effects_frame,
    "LeverGrid": lever_grid_frame,
    "PriceOfPeace": price_frame,
    "ClaimsReport": claims_frame,
    "Explanation": explanation_frame,
    "SensitivityResult": sensitivity_frame,
    "Discovery": discovery_frame,
}
"""The converter of each analysis result, by the result's class name."""


def to_frame(result: Any) -> pd.DataFrame:
    """``result`` (an analysis result, or a run's :class:`~ceasefire.run.experiment.RunResult`) as a DataFrame.

    A ``RunResult`` gives :func:`ceasefire.run.frames.paths_frame`, one row per path. A ``TypeError``
    names the results it knows for anything else.
    """
    name = type(result).__name__
    if name == "RunResult":
        from ceasefire.run.frames import paths_frame

        return paths_frame(result)
    if name not in CONVERTERS:
        raise TypeError(f"cannot make a table of a {name}; expected a RunResult or one of {', '.join(CONVERTERS)}")
    return CONVERTERS[name](result)
