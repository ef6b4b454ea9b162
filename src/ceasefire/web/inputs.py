"""What the browser sends to the dashboard's callbacks, checked for shape before anything uses it.

Dash passes a callback the values the page holds, but any client can post any JSON to
``/_dash-update-component``: ids that are not dicts, lists of other lengths, strings for numbers.
:func:`slider_values` and :func:`control_ids` accept only the shapes the page itself sends and
raise :class:`ValueError` (shown as an ``error:`` note) for anything else, so no such request
reaches project code that would fail with an HTTP 500.

:func:`snap` puts a slider value on its slider's grid of positions: the page only ever sends grid
positions, so snapping changes nothing for it, while a client sending arbitrary in-range floats
(``0.1234567``) can no longer make every request a new preview that bypasses the cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_CONTROLS = 1_000
"""More controls than any scenario has sliders: a longer list is refused before it is looked at."""


def control_ids(ids: object) -> set[str] | None:
    """The ``id`` of each control in a list of Dash pattern ids (``{"type": ..., "id": ...}``), or ``None``
    when ``ids`` is not such a list."""
    if not isinstance(ids, list) or len(ids) > MAX_CONTROLS:
        return None
    out: set[str] = set()
    for i in ids:
        if not isinstance(i, dict) or not isinstance(i.get("id"), str):
            return None
        out.add(i["id"])
    return out


def slider_values(ids: object, values: object, what: str) -> dict[str, Any]:
    """``{control id: value}`` from the ids and values Dash sends for a pattern of sliders (``None`` values,
    a slider not yet set, left out). :class:`ValueError` for any other shape."""
    names = control_ids(ids)
    if names is None or not isinstance(values, list) or len(values) != len(ids):  # type: ignore[arg-type]
        raise ValueError(f"{what}: expected a list of slider ids and a list of as many values")
    out: dict[str, Any] = {}
    for i, v in zip(ids, values, strict=True):  # type: ignore[call-overload]
        if v is not None:
            out[i["id"]] = v
    return out


def snap(value: object, low: float, high: float, step: float) -> object:
    """``value`` moved to the nearest position ``low + k * step`` in ``[low, high]`` when it is a finite
    number inside the range; anything else unchanged (the checks that follow refuse it with a message)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return value
    if not low <= value <= high or not (step > 0 and math.isfinite(step)):
        return value
    k = round((value - low) / step)
    # rounded to 12 decimals: low + k * step carries the floats' error (-0.3 + 6 * 0.05 is 5.6e-17, not the
    # neutral 0 a slider shows, and would be taken for a change of the assumption)
    return float(min(max(round(low + k * step, 12), low), high))


def snap_all(values: Mapping[str, object], grid: Mapping[str, tuple[float, float, float]]) -> dict[str, object]:
    """:func:`snap` each value whose id has a ``(low, high, step)`` grid; other ids unchanged (and refused
    later as unknown)."""
    return {k: (snap(v, *grid[k]) if isinstance(k, str) and k in grid else v) for k, v in values.items()}


LEVER_POSITIONS = 4
"""A lever's slider has ``LEVER_POSITIONS + 1`` positions: 0 to its largest intensity in equal steps."""


def lever_grid(scenario: Any) -> dict[str, tuple[float, float, float]]:
    """``{lever id: (0, intensity_max, step)}``: the positions of each lever's slider."""
    return {lv.id: (0.0, lv.intensity_max, lv.intensity_max / LEVER_POSITIONS) for lv in scenario.levers}
