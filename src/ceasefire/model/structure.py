"""The scenario's discrete structure as arrays: objectives, aims, terms, levers, events, patrons.

What is not a number drawn per sample: which aims each terms option grants, the aims' weights and
objectives, the terms' guarantees and sanctions relief, each lever's target, domain and first month,
each event's kind, month and changes, each patron's side, veto and weights. Built once at the edge from
the validated scenario (:func:`ceasefire.scenario.build.structure_of`); inside the model it is a
constant of the computation (a static argument of the JAX engine's compiled calls).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.params import Array, EventKeys, Pair, Params, from_flat


@dataclass(frozen=True)
class LeverSpec:
    """A lever as the model applies it: the parameter it changes (a path in :class:`.params.Params`),
    how (``add`` or ``multiply``), and that parameter's domain, into which the changed value is clipped."""

    id: str
    target: tuple[str | int, ...]
    effect: str
    low: float
    high: float
    start_month: int = 0
    """First month the lever acts (it changes nothing before)."""


@dataclass(frozen=True)
class EventChange:
    """A parameter an event changes from its month on: ``set`` to the change's value, ``add`` it, or
    ``multiply`` by it, clipped into the target's domain. The ``i``-th change of an event has its value
    at :attr:`.params.EventParams.values` ``[i]``."""

    target: tuple[str | int, ...]
    effect: str
    low: float
    high: float
    position: int
    """Its position in the event's list of changes in the file (``events.<id>.changes.<position>.value``)."""


@dataclass(frozen=True)
class EventSpec:
    """An event: when it happens (:attr:`kind`) and what it does from its month on: parameter
    changes, levers it starts (index, intensity), patrons whose leader it replaces (indices) and leaders
    it removes (sides)."""

    id: str
    kind: str
    """How its month is known: ``scheduled`` (a month or a date: the same on every path), ``probability`` (a
    monthly probability: the month drawn per path, geometric), ``within`` (a distribution of the month:
    drawn per sample, as an uncertain parameter)."""
    month: int = 0
    """The month of a scheduled event (unused otherwise)."""
    changes: tuple[EventChange, ...] = ()
    levers: tuple[tuple[int, float], ...] = ()
    patrons: tuple[int, ...] = ()
    leaders: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatronSpec:
    """A third party backing one side (``side``): whether it holds a veto over that side's terms, and
    its leader's and his successor's weights over the backed side's aims (in the order of the aims)."""

    id: str
    side: str
    veto: bool
    weights: tuple[tuple[float, ...], tuple[float, ...]]
    """``(incumbent, successor)`` weights, one per aim of the backed side (not all zero)."""


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
    status_quo: Pair[NDArray[np.float64]]
    """``(aims,)`` how far an aim tied to no objective is met while the war goes on (0 for the others)."""
    removes_leader: Pair[NDArray[np.bool_]]
    """``(terms,)`` signing the terms removes the side's leader."""
    ratified_by: NDArray[np.int64]
    """``(terms,)`` the side whose vote the terms must pass (0: A, 1: B), -1 where none."""
    ratify_threshold: NDArray[np.float64]
    ratify_error: NDArray[np.float64]
    ratify_blocked: NDArray[np.int64]
    """``(terms,)`` months the terms are off the table after a failed vote."""
    renewal_every: Pair[int]
    """Months between decisions on the side's external money (0: none)."""
    renewal_first: Pair[int]
    levers: tuple[LeverSpec, ...]
    prior_broken: int
    """Agreements broken before the start (the ceasefire's record)."""
    events: tuple[EventSpec, ...] = ()
    patrons: tuple[PatronSpec, ...] = ()

    @property
    def n_objectives(self) -> int:
        return len(self.objectives)

    @property
    def lever_ids(self) -> tuple[str, ...]:
        return tuple(lv.id for lv in self.levers)

    @property
    def patron_ids(self) -> tuple[str, ...]:
        return tuple(j.id for j in self.patrons)

    @property
    def event_keys(self) -> EventKeys:
        """Each event's id and the positions of its valued changes (the flat table's naming)."""
        return tuple((e.id, tuple(c.position for c in e.changes)) for e in self.events)

    @property
    def varies(self) -> bool:
        """Whether the parameters change after the start: a lever starts late, or an event changes
        parameters or starts a lever. A static fact: where false the month's parameters are the start's."""
        return any(lv.start_month > 0 for lv in self.levers) or any(e.changes or e.levers for e in self.events)

    def removing(self, side: str) -> tuple[int, ...]:
        """The events that remove the side's leader."""
        return tuple(i for i, e in enumerate(self.events) if side in e.leaders)

    def replacing(self, patron: int) -> tuple[int, ...]:
        """The events that replace patron ``patron``'s leader by his successor."""
        return tuple(i for i, e in enumerate(self.events) if patron in e.patrons)

    def concessions(self, side: str) -> NDArray[np.float64]:
        """Concession each terms option gives the side's leader beyond his aims."""
        return self.concession_to_a if side == "A" else np.zeros(len(self.terms))

    def untied(self, side: str, at_war: bool = False) -> NDArray[np.bool_]:
        """``(aims,)``: the side's aims whose progress is zero on every path: tied to no objective (and, at
        war, not met at all by the status quo)."""
        free = self.aim_objective[side] < 0
        return free & (self.status_quo[side] == 0.0) if at_war else free

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


def params_from(st: Structure, values: Mapping[str, Array]) -> Params:
    """The typed parameters of a flat table of values (per path, per sample or with leading axes), named
    by the structure's ids (:func:`.params.from_flat`)."""
    return from_flat(values, st.objectives, st.lever_ids, st.terms, st.event_keys, st.patron_ids)
