"""With which kernel the value of peace is summed.

The month is written once over an array namespace (:mod:`.xp`); the only kernel with an implementation
per backend is the series of the value of peace (:func:`.leader.peace_series`): NumPy sums it in place,
element by element until converged; JAX as a polynomial of fixed degree that XLA fuses
(:mod:`ceasefire.model.jax.peace`); the explanation shares one series among variants that differ only
in the flow and the punishment (:func:`.leader.peace_series_shared`). Each takes several argument sets
at once (:data:`PeaceArguments`), so a backend may evaluate them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ceasefire.model import leader

PeaceArguments = tuple[Any, Any, Any, Any, Any, Any]
"""``(base_rate, shock, shock_months, delta, flow_part, shock_cost)``: the arguments of the series of a
state left at a decaying rate (:func:`.leader.peace_series`)."""

Backend = Callable[[Sequence[PeaceArguments]], list[Any]]
"""A backend's value-of-peace kernel: the values of signing now for several argument sets (each broadcast
on its own). The array library is the arguments' own (:func:`.xp.namespace`)."""


def _numpy_peace_values(arguments: Sequence[PeaceArguments]) -> list[Any]:
    return [leader.peace_series(*args) for args in arguments]


def _shared_peace_values(arguments: Sequence[PeaceArguments]) -> list[Any]:
    return [leader.peace_series_shared(*args) for args in arguments]


NUMPY: Backend = _numpy_peace_values
"""The NumPy engine's backend."""

NUMPY_SHARED: Backend = _shared_peace_values
"""NumPy with one series shared by variants that differ only in the punishment (the explanation)."""
