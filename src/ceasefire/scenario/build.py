"""The edge between the file format and the model: a validated scenario as the model's typed inputs.

:func:`structure_of` gives the scenario's discrete structure (:class:`ceasefire.model.structure.Structure`);
:func:`params_of` turns a flat table of parameter values (dotted path -> array, as the sampler draws
them) into the typed tree :class:`ceasefire.model.params.Params`. Both are called once, where a run
starts; nothing inside the model reads the scenario schema.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ceasefire.model.params import Array, Pair, Params, from_flat, tree_path
from ceasefire.model.structure import LeverSpec, Structure
from ceasefire.scenario.schema import Scenario, param_domain


def structure_of(scenario: Scenario) -> Structure:
    """The scenario's objectives, aims, terms and levers as arrays."""
    objective_ids = tuple(o.id for o in scenario.objectives)
    objective_index = {o: i for i, o in enumerate(objective_ids)}
    lever_ids = tuple(lv.id for lv in scenario.levers)

    def per_side(make: object) -> Pair[np.ndarray]:
        return Pair.of(make)  # type: ignore[arg-type]

    def aims(side: str) -> list:  # type: ignore[type-arg]
        return scenario.leaders[side].aims  # type: ignore[index]

    levers = []
    for lv in scenario.levers:
        low, high = param_domain(scenario, lv.target)
        target = tree_path(lv.target, objective_ids, lever_ids)
        levers.append(LeverSpec(lv.id, target, lv.effect, float(low), float(high)))
    return Structure(
        objectives=objective_ids,
        terms=tuple(t.id for t in scenario.terms),
        available_from=np.array([t.available_from for t in scenario.terms], dtype=np.int64),
        guarantees=np.array([t.security_guarantees for t in scenario.terms], dtype=bool),
        sanctions_relief=np.array([t.sanctions_relief for t in scenario.terms], dtype=float),
        concession_to_a=np.array([t.concession_to_A for t in scenario.terms], dtype=float),
        aim_weights=per_side(lambda s: np.array([a.weight for a in aims(s)], dtype=float)),
        aim_objective=per_side(
            lambda s: np.array([objective_index[a.objective] if a.objective else -1 for a in aims(s)], dtype=np.int64)
        ),
        aim_lost=per_side(lambda s: np.array([a.effect == "lost_by" for a in aims(s)], dtype=bool)),
        granted=per_side(
            lambda s: np.array([[a.id in t.grants for t in scenario.terms] for a in aims(s)], dtype=bool).reshape(
                len(aims(s)), len(scenario.terms)
            )
        ),
        levers=tuple(levers),
        prior_broken=int(scenario.ceasefire.prior_broken),
    )


def params_of(structure: Structure, values: Mapping[str, Array]) -> Params:
    """The typed parameters of a flat table of values (per path, per sample or with leading axes)."""
    return from_flat(values, structure.objectives, structure.lever_ids)
