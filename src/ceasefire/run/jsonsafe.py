"""Results as JSON-safe Python: what every result's ``to_dict`` and every written document goes through."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None``, NumPy scalars as Python ones, tuples as lists and
    keys as strings, so that ``json.dumps(..., allow_nan=False)`` never fails nor writes a bare NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value
