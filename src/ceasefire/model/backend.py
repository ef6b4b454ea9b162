"""Which array library computes the month, and with which kernel the value of peace is summed.

The month is written once over an array namespace (:mod:`.xp`); the only kernel with an implementation
per backend is the series of the value of peace (:func:`.leader.peace_value`): NumPy sums it in place,
element by element until converged; JAX as a polynomial of fixed degree that XLA fuses
(:mod:`ceasefire.model.jax.peace`); the explanation shares one series among variants that differ only
in the punishment (:func:`.leader.peace_value_shared`). Each takes several argument sets at once
(``(base_rate, shock, shock_months, punishment, delta)``), so a backend may evaluate them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ceasefire.model import leader

PeaceArguments = tuple[Any, Any, Any, Any, Any]
"""``(base_rate, shock, shock_months, punishment, delta)``: the arguments of the value of peace."""


@dataclass(frozen=True)
class Backend:
    """An array namespace and the value-of-peace kernel that goes with it."""

    xp: ModuleType
    peace_values: Callable[[Sequence[PeaceArguments]], list[Any]]
    """Values of signing now for several argument sets (each broadcast on its own)."""


def _numpy_peace_values(arguments: Sequence[PeaceArguments]) -> list[Any]:
    return [leader.peace_value(*args) for args in arguments]


def _shared_peace_values(arguments: Sequence[PeaceArguments]) -> list[Any]:
    return [leader.peace_value_shared(*args) for args in arguments]


NUMPY = Backend(np, _numpy_peace_values)
"""The NumPy engine's backend."""

NUMPY_SHARED = Backend(np, _shared_peace_values)
"""NumPy with one series shared by variants that differ only in the punishment (the explanation)."""
