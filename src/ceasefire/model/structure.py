"""The scenario's discrete structure as arrays: objectives, aims, terms, levers.

What is not a number drawn per sample: which aims each terms option grants, the aims' weights and
objectives, the terms' guarantees and sanctions relief, each lever's target and domain. Built once at
the edge from the validated scenario (:func:`ceasefire.scenario.build.structure_of`); inside the
model it is a constant of the computation (a static argument of the JAX engine's compiled calls).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.params import Pair


@dataclass(frozen=True)
class LeverSpec:
    """A lever as the model applies it: the parameter it changes (a path in :class:`.params.Params`),
    how (``add`` or ``multiply``), and that parameter's domain, into which the changed value is clipped."""

    id: str
    target: tuple[str | int, ...]
    effect: str
    low: float
    high: float


@dataclass(frozen=True, eq=False)
class Structure:
    """The scenario's objectives, aims, terms and levers, as the kernels read them."""

    objectives: tuple[str, ...]
    terms: tuple[str, ...]
    available_from: NDArray[np.int64]
    """``(terms,)`` first month each terms option is on the table."""
    guarantees: NDArray[np.bool_]
    sanctions_relief: NDArray[np.float64]
    """``(terms,)`` share of sanctions the terms lift."""
    concession_to_a: NDArray[np.float64]
    aim_weights: Pair[NDArray[np.float64]]
    aim_objective: Pair[NDArray[np.int64]]
    """``(aims,)`` the objective each aim is tied to, -1 for none."""
    aim_lost: Pair[NDArray[np.bool_]]
    """``(aims,)`` the aim is lost by A's progress on its objective (else achieved by it)."""
    granted: Pair[NDArray[np.bool_]]
    """``(aims, terms)`` the terms meet the aim."""
    levers: tuple[LeverSpec, ...]
    prior_broken: int
    """Agreements broken before the start (the ceasefire's record)."""

    @property
    def n_objectives(self) -> int:
        return len(self.objectives)

    @property
    def lever_ids(self) -> tuple[str, ...]:
        return tuple(lv.id for lv in self.levers)

    def concessions(self, side: str) -> NDArray[np.float64]:
        """Concession each terms option gives the side's leader beyond his aims."""
        return self.concession_to_a if side == "A" else np.zeros(len(self.terms))

    def untied(self, side: str) -> NDArray[np.bool_]:
        """``(aims,)``: the side's aims tied to no objective (their progress is zero on every path)."""
        return self.aim_objective[side] < 0

    @cached_property
    def digest(self) -> str:
        """A fingerprint of every field: equal structures compile to the same JAX program."""
        h = hashlib.sha256()
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            parts = list(value.items()) if isinstance(value, Pair) else [("", value)]
            for key, part in parts:
                h.update(f"{name}.{key}={part!r}".encode() if not isinstance(part, np.ndarray) else name.encode())
                if isinstance(part, np.ndarray):
                    h.update(f"{part.dtype}{part.shape}".encode() + part.tobytes())
        return h.hexdigest()
